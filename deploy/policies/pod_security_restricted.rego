# Pod Security Standard "restricted" (plus a read-only root filesystem):
# non-root, no privilege escalation, all capabilities dropped,
# RuntimeDefault seccomp, no host namespaces or host paths.
package userhub.pod_security_restricted

import rego.v1

import data.lib.userhub as lib

obj := input.review.object

spec := lib.pod_spec(obj)

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	spec[field] == true
	msg := sprintf("%s: %s is not allowed", [lib.name(obj), field])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some volume in object.get(spec, "volumes", [])
	volume.hostPath
	msg := sprintf("%s: hostPath volume %s is not allowed", [lib.name(obj), volume.name])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	not run_as_non_root(c)
	msg := sprintf("%s: container %s must set runAsNonRoot: true", [lib.name(obj), c.name])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	run_as_user(c) == 0
	msg := sprintf("%s: container %s runs as uid 0", [lib.name(obj), c.name])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	object.get(c, ["securityContext", "allowPrivilegeEscalation"], true) != false
	msg := sprintf("%s: container %s must set allowPrivilegeEscalation: false", [lib.name(obj), c.name])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	object.get(c, ["securityContext", "privileged"], false) == true
	msg := sprintf("%s: container %s is privileged", [lib.name(obj), c.name])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	not "ALL" in object.get(c, ["securityContext", "capabilities", "drop"], [])
	msg := sprintf("%s: container %s must drop ALL capabilities", [lib.name(obj), c.name])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	some added in object.get(c, ["securityContext", "capabilities", "add"], [])
	added != "NET_BIND_SERVICE"
	msg := sprintf("%s: container %s adds capability %s", [lib.name(obj), c.name, added])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	not seccomp_runtime_default(c)
	msg := sprintf("%s: container %s must use seccompProfile RuntimeDefault", [lib.name(obj), c.name])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	object.get(c, ["securityContext", "readOnlyRootFilesystem"], false) != true
	msg := sprintf("%s: container %s must set readOnlyRootFilesystem: true", [lib.name(obj), c.name])
}

run_as_non_root(c) if c.securityContext.runAsNonRoot == true

run_as_non_root(c) if {
	not c.securityContext.runAsNonRoot == false
	spec.securityContext.runAsNonRoot == true
}

run_as_user(c) := c.securityContext.runAsUser

run_as_user(c) := spec.securityContext.runAsUser if not c.securityContext.runAsUser

seccomp_runtime_default(c) if c.securityContext.seccompProfile.type in {"RuntimeDefault", "Localhost"}

seccomp_runtime_default(c) if {
	not c.securityContext.seccompProfile
	spec.securityContext.seccompProfile.type in {"RuntimeDefault", "Localhost"}
}
