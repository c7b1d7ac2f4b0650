# Every container requests and limits CPU and memory.
package userhub.resources_limited

import rego.v1

import data.lib.userhub as lib

obj := input.review.object

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	some kind in ["requests", "limits"]
	some resource in ["cpu", "memory"]
	not c.resources[kind][resource]
	msg := sprintf("%s: container %s has no %s.%s", [lib.name(obj), c.name, kind, resource])
}
