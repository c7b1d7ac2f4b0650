# On-premises nodes on Proxmox VE: a Debian 12 cloud image becomes a
# template; one load balancer, the k3s servers and agents (and optionally
# PostgreSQL VMs) are full clones of it, configured by cloud-init. Ansible
# (infra/ansible) takes over from the `ansible_inventory` output.

locals {
  kinds = merge(
    { "lb-1" = "loadbalancer" },
    { for index in range(var.server_count) : "cp-${index + 1}" => "server" },
    { for index in range(var.agent_count) : "worker-${index + 1}" => "agent" },
    { for index in range(var.database_count) : "db-${index + 1}" => "database" },
  )
  # Stable order: load balancer, servers, agents, databases.
  names = concat(
    ["lb-1"],
    [for index in range(var.server_count) : "cp-${index + 1}"],
    [for index in range(var.agent_count) : "worker-${index + 1}"],
    [for index in range(var.database_count) : "db-${index + 1}"],
  )
  prefix_length = tonumber(split("/", var.network_cidr)[1])
  nodes = {
    for position, name in local.names : name => {
      kind    = local.kinds[name]
      vm_id   = var.first_vm_id + position
      address = cidrhost(var.network_cidr, 10 + position)
    }
  }
  groups = {
    loadbalancer = "loadbalancer"
    server       = "k3s_server"
    agent        = "k3s_agent"
    database     = "postgresql"
  }
}

resource "proxmox_virtual_environment_download_file" "debian" {
  content_type       = "iso"
  datastore_id       = var.snippets_datastore
  node_name          = var.node_name
  url                = var.cloud_image_url
  file_name          = "userhub-${var.environment}-debian-12-genericcloud-amd64.img"
  checksum           = var.cloud_image_sha512
  checksum_algorithm = "sha512"
  overwrite          = false
}

resource "proxmox_virtual_environment_vm" "template" {
  name      = "userhub-${var.environment}-debian12"
  node_name = var.node_name
  vm_id     = var.template_vm_id
  template  = true
  started   = false
  tags      = ["userhub", var.environment, "template"]

  machine       = "q35"
  bios          = "ovmf"
  scsi_hardware = "virtio-scsi-single"

  efi_disk {
    datastore_id = var.vm_datastore
    type         = "4m"
  }

  cpu {
    cores = 2
    type  = "x86-64-v2-AES"
  }

  memory {
    dedicated = 2048
  }

  disk {
    datastore_id = var.vm_datastore
    file_id      = proxmox_virtual_environment_download_file.debian.id
    interface    = "scsi0"
    iothread     = true
    discard      = "on"
    size         = 20
  }

  network_device {
    bridge  = var.bridge
    vlan_id = var.vlan_id == 0 ? null : var.vlan_id
  }

  operating_system {
    type = "l26"
  }

  serial_device {}

  agent {
    enabled = true
  }
}

resource "proxmox_virtual_environment_file" "user_data" {
  for_each = local.nodes

  content_type = "snippets"
  datastore_id = var.snippets_datastore
  node_name    = var.node_name

  source_raw {
    file_name = "userhub-${var.environment}-${each.key}-user-data.yaml"
    data = templatefile("${path.module}/cloud-init/user-data.yaml.tftpl", {
      hostname            = each.key
      fqdn                = "${each.key}.${var.domain}"
      ssh_user            = var.ssh_user
      ssh_authorized_keys = var.ssh_authorized_keys
      node_kind           = each.value.kind
      environment         = var.environment
    })
  }
}

resource "proxmox_virtual_environment_vm" "node" {
  for_each = local.nodes

  name        = "userhub-${var.environment}-${each.key}"
  description = "Userhub ${var.environment} ${each.value.kind}, managed by Terraform (infra/proxmox)"
  node_name   = var.node_name
  vm_id       = each.value.vm_id
  tags        = ["userhub", var.environment, each.value.kind]
  on_boot     = true

  machine       = "q35"
  bios          = "ovmf"
  scsi_hardware = "virtio-scsi-single"

  clone {
    vm_id = proxmox_virtual_environment_vm.template.vm_id
    full  = true
  }

  cpu {
    cores = var.sizes[each.value.kind].cores
    type  = "x86-64-v2-AES"
  }

  memory {
    dedicated = var.sizes[each.value.kind].memory_mb
  }

  disk {
    datastore_id = var.vm_datastore
    interface    = "scsi0"
    iothread     = true
    discard      = "on"
    size         = var.sizes[each.value.kind].disk_gb
  }

  network_device {
    bridge  = var.bridge
    vlan_id = var.vlan_id == 0 ? null : var.vlan_id
  }

  agent {
    enabled = true
  }

  initialization {
    datastore_id = var.vm_datastore

    dns {
      domain  = var.domain
      servers = var.dns_servers
    }

    ip_config {
      ipv4 {
        address = "${each.value.address}/${local.prefix_length}"
        gateway = var.gateway
      }
    }

    user_data_file_id = proxmox_virtual_environment_file.user_data[each.key].id
  }

  lifecycle {
    # cloud-init runs once; a changed snippet must not rebuild a running node.
    ignore_changes = [initialization[0].user_data_file_id]
  }
}
