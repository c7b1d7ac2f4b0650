terraform {
  required_version = "~> 1.11"

  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = "~> 0.78"
    }
  }

  # Partial configuration, like infra/terraform/envs: the wrapper passes the
  # bucket, region and key (proxmox/<environment>/terraform.tfstate).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
