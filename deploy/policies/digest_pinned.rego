# In staging and prod every image is referenced by digest (what was tested
# in staging is byte for byte what runs in prod).
package userhub.digest_pinned

import rego.v1

import data.lib.userhub as lib

obj := input.review.object

pinned_environments := object.get(input, ["parameters", "environments"], ["staging", "prod"])

environment := obj.metadata.labels["userhub.io/environment"]

environment := env if {
	not obj.metadata.labels["userhub.io/environment"]
	some env in pinned_environments
	lib.namespace(obj) == sprintf("userhub-%s", [env])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	environment in pinned_environments
	some c in lib.containers(obj)
	not regex.match(`@sha256:[a-f0-9]{64}$`, c.image)
	msg := sprintf("%s: container %s image %s is not pinned by digest (required in %s)", [lib.name(obj), c.name, c.image, environment])
}
