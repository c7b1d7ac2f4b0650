#!/usr/bin/env bash
# Hosted CI: kind, helm (v4) and, with --kubectl, kubectl as release binaries
# into DIR, each checked against its published SHA-256.
# Usage: install-tools.sh DIR [--kubectl]
set -euo pipefail
dir=$1
KIND_VERSION=${KIND_VERSION:-v0.30.0}
HELM_VERSION=${HELM_VERSION:-v4.0.0}
KUBECTL_VERSION=${KUBECTL_VERSION:-v1.34.0}
mkdir -p "$dir" && cd "$dir"

fetch() { # url file checksum-url
  curl -fsSLo "$2" "$1"
  echo "$(curl -fsSL "$3" | cut -d' ' -f1)  $2" | sha256sum -c -
}

fetch "https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-amd64" kind \
  "https://kind.sigs.k8s.io/dl/${KIND_VERSION}/kind-linux-amd64.sha256sum"
helm_tgz="helm-${HELM_VERSION}-linux-amd64.tar.gz"
fetch "https://get.helm.sh/${helm_tgz}" "$helm_tgz" "https://get.helm.sh/${helm_tgz}.sha256sum"
tar -xzf "$helm_tgz" --strip-components=1 linux-amd64/helm && rm "$helm_tgz"
if [[ "${2:-}" == --kubectl ]]; then
  fetch "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl" kubectl \
    "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl.sha256"
fi
chmod +x kind helm ${2:+kubectl}
