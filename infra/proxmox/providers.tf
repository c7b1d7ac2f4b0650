provider "proxmox" {
  endpoint  = var.proxmox_endpoint
  api_token = var.proxmox_api_token
  insecure  = var.proxmox_insecure

  # Snippets (cloud-init user-data) are uploaded over SSH to the node.
  ssh {
    agent    = true
    username = var.proxmox_ssh_username
  }
}
