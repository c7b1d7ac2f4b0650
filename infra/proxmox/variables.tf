variable "proxmox_endpoint" {
  type        = string
  description = "URL of the Proxmox VE API, for example https://pve1.example.com:8006/."
}

variable "proxmox_api_token" {
  type        = string
  description = "API token \"user@realm!token-id=secret\" of a role limited to VM.* and Datastore.* on the target pool (from the environment, TF_VAR_proxmox_api_token)."
  sensitive   = true
}

variable "proxmox_insecure" {
  type        = bool
  description = "Skip TLS verification of the API (only for a lab with a self-signed certificate)."
  default     = false
}

variable "proxmox_ssh_username" {
  type        = string
  description = "SSH user on the Proxmox node that may write to the snippets datastore."
  default     = "terraform"
}

variable "environment" {
  type        = string
  description = "Environment name (staging, prod); prefixes VM names and tags."
}

variable "node_name" {
  type        = string
  description = "Proxmox node the VMs run on."
}

variable "vm_datastore" {
  type        = string
  description = "Datastore of the VM disks (for example local-lvm, ceph-vm)."
  default     = "local-lvm"
}

variable "snippets_datastore" {
  type        = string
  description = "File datastore with the snippets content type (cloud-init user-data)."
  default     = "local"
}

variable "cloud_image_url" {
  type        = string
  description = "Debian 12 generic cloud image (qcow2) of a dated release, for example https://cloud.debian.org/images/cloud/bookworm/20250428-2096/debian-12-genericcloud-amd64-20250428-2096.qcow2."
}

variable "cloud_image_sha512" {
  type        = string
  description = "SHA-512 of the cloud image, from the SHA512SUMS file next to it."

  validation {
    condition     = can(regex("^[0-9a-f]{128}$", var.cloud_image_sha512))
    error_message = "cloud_image_sha512 is 128 hexadecimal characters."
  }
}

variable "template_vm_id" {
  type        = number
  description = "VM ID of the template the nodes are cloned from."
  default     = 9000
}

variable "first_vm_id" {
  type        = number
  description = "VM IDs of the nodes start here (load balancer, then servers, agents, databases)."
  default     = 9100
}

variable "bridge" {
  type        = string
  description = "Linux bridge of the node network."
  default     = "vmbr0"
}

variable "vlan_id" {
  type        = number
  description = "VLAN tag of the node network (0 = untagged)."
  default     = 0
}

variable "network_cidr" {
  type        = string
  description = "Node network; VMs get static addresses in it starting at host number 10."
}

variable "gateway" {
  type        = string
  description = "Default gateway of the node network."
}

variable "dns_servers" {
  type        = list(string)
  description = "DNS resolvers of the VMs."
}

variable "domain" {
  type        = string
  description = "DNS domain of the VM host names."
}

variable "ssh_user" {
  type        = string
  description = "Login created by cloud-init for Ansible and operators (sudo, key only)."
  default     = "ops"
}

variable "ssh_authorized_keys" {
  type        = list(string)
  description = "Public SSH keys of the operators and the CI deploy key."

  validation {
    condition     = length(var.ssh_authorized_keys) > 0
    error_message = "At least one SSH public key is needed, password logins are disabled."
  }
}

variable "server_count" {
  type        = number
  description = "k3s servers (embedded etcd needs an odd number: 3 or 5)."
  default     = 3

  validation {
    condition     = var.server_count % 2 == 1
    error_message = "server_count must be odd for an etcd quorum."
  }
}

variable "agent_count" {
  type        = number
  description = "k3s agents (workers)."
  default     = 3
}

variable "database_count" {
  type        = number
  description = "PostgreSQL VMs (0 when the database runs in the cluster with CloudNativePG)."
  default     = 0
}

variable "sizes" {
  type = map(object({
    cores     = number
    memory_mb = number
    disk_gb   = number
  }))
  description = "CPU cores, memory and disk of each kind of VM: loadbalancer, server, agent, database."
  default = {
    loadbalancer = { cores = 2, memory_mb = 2048, disk_gb = 20 }
    server       = { cores = 2, memory_mb = 4096, disk_gb = 40 }
    agent        = { cores = 4, memory_mb = 8192, disk_gb = 80 }
    database     = { cores = 4, memory_mb = 8192, disk_gb = 100 }
  }
}
