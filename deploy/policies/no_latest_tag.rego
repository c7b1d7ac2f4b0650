# No image runs `latest`, explicitly or by omitting the tag.
package userhub.no_latest_tag

import rego.v1

import data.lib.userhub as lib

obj := input.review.object

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	not contains(c.image, "@")
	tag := image_tag(c.image)
	tag in {"", "latest"}
	msg := sprintf("%s: container %s uses image %s: pin a tag (dev) or a digest", [lib.name(obj), c.name, c.image])
}

# The tag after the last ':' that follows the last '/', or "" when there is none.
image_tag(image) := tag if {
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
}

image_tag(image) := "" if {
	parts := split(image, "/")
	not contains(parts[count(parts) - 1], ":")
}
