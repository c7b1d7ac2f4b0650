# Helpers shared by the Userhub policies (Gatekeeper style: the object under
# review is input.review.object; synced objects are in data.inventory).
package lib.userhub

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

is_workload(obj) if workload_kinds[obj.kind]

is_workload(obj) if obj.kind == "CronJob"

is_workload(obj) if obj.kind == "Pod"

# The pod spec of any workload kind.
pod_spec(obj) := obj.spec if obj.kind == "Pod"

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

pod_spec(obj) := obj.spec.template.spec if workload_kinds[obj.kind]

# Labels of the pods a workload creates.
pod_labels(obj) := object.get(obj, ["metadata", "labels"], {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(obj, ["spec", "jobTemplate", "spec", "template", "metadata", "labels"], {}) if obj.kind == "CronJob"

pod_labels(obj) := object.get(obj, ["spec", "template", "metadata", "labels"], {}) if workload_kinds[obj.kind]

# Every container, init and ephemeral included.
containers(obj) := array.concat(
	array.concat(object.get(pod_spec(obj), "containers", []), object.get(pod_spec(obj), "initContainers", [])),
	object.get(pod_spec(obj), "ephemeralContainers", []),
)

namespace(obj) := object.get(obj, ["metadata", "namespace"], "default")

name(obj) := sprintf("%s/%s", [obj.kind, object.get(obj, ["metadata", "name"], "?")])
