# Secret values never live in manifests: no Secret with data, no secret-like
# literal environment variable, no secret-like key in a ConfigMap. Secrets
# come from ExternalSecrets (Vault) or operator-generated Secrets.
package userhub.no_inline_secrets

import rego.v1

import data.lib.userhub as lib

obj := input.review.object

# Matched against the lower-cased name.
secret_like := `(secret|password|passwd|token|private_?key|cookie_?key|api_?key|credential)`

violation contains {"msg": msg} if {
	obj.kind == "Secret"
	some field in ["data", "stringData"]
	count(object.get(obj, field, {})) > 0
	msg := sprintf("%s: secret values in git; use an ExternalSecret or an existing Secret", [lib.name(obj)])
}

violation contains {"msg": msg} if {
	lib.is_workload(obj)
	some c in lib.containers(obj)
	some env in object.get(c, "env", [])
	regex.match(secret_like, lower(env.name))
	env.value
	msg := sprintf("%s: container %s sets %s inline; reference a Secret (valueFrom.secretKeyRef)", [lib.name(obj), c.name, env.name])
}

violation contains {"msg": msg} if {
	obj.kind == "ConfigMap"
	some key, _ in object.get(obj, "data", {})
	regex.match(secret_like, lower(key))
	msg := sprintf("%s: key %s looks like a secret; ConfigMaps hold non-secret settings only", [lib.name(obj), key])
}
