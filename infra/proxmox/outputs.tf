output "ansible_inventory" {
  description = "Hosts by Ansible group; infra/ansible/inventory_from_terraform.py turns it into an inventory."
  value = merge(
    { ssh_user = var.ssh_user },
    {
      for kind, group in local.groups : group => [
        for name in local.names : {
          name    = name
          address = local.nodes[name].address
        } if local.nodes[name].kind == kind
      ]
    },
  )
}

output "api_endpoint" {
  description = "Kubernetes API through the load balancer (server of the kubeconfig Argo CD uses)."
  value       = "https://${local.nodes["lb-1"].address}:6443"
}
