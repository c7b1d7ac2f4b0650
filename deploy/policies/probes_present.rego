# Long-running containers have readiness and liveness probes.
package userhub.probes_present

import rego.v1

import data.lib.userhub as lib

obj := input.review.object

long_running := {"Deployment", "StatefulSet", "DaemonSet"}

violation contains {"msg": msg} if {
	long_running[obj.kind]
	some c in lib.pod_spec(obj).containers
	some probe in ["readinessProbe", "livenessProbe"]
	not c[probe]
	msg := sprintf("%s: container %s has no %s", [lib.name(obj), c.name, probe])
}
