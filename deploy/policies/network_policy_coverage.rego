# Every workload's pods are selected by NetworkPolicies restricting both
# ingress and egress (the release's default deny). Needs the namespace's
# NetworkPolicies in data.inventory (Gatekeeper's sync), as the tests load.
package userhub.network_policy_coverage

import rego.v1

import data.lib.userhub as lib

obj := input.review.object

policies := [p |
	some p in object.get(data, ["inventory", "namespace", lib.namespace(obj), "networking.k8s.io/v1", "NetworkPolicy"], {})
]

selects(policy, labels) if {
	every key, value in object.get(policy, ["spec", "podSelector", "matchLabels"], {}) {
		labels[key] == value
	}
	not policy.spec.podSelector.matchExpressions
}

restricts(policy, direction) if direction in object.get(policy, ["spec", "policyTypes"], [])

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some direction in ["Ingress", "Egress"]
	labels := lib.pod_labels(obj)
	not covered(labels, direction)
	msg := sprintf("%s: no NetworkPolicy in %s restricts %s for its pods", [lib.name(obj), lib.namespace(obj), direction])
}

covered(labels, direction) if {
	some policy in policies
	selects(policy, labels)
	restricts(policy, direction)
}
