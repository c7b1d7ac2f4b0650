# Staging: one NAT gateway, small on-demand nodes plus a spot pool.
# account_id, region, name and bucket_prefix come from the
# wrapper (.env), never from this file.
environment        = "staging"
kubernetes_version = "1.31"
vpc_cidr           = "10.40.0.0/16"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
single_nat_gateway = true
zone_name          = "staging.userhub.example.com"
log_retention_days = 365

node_groups = {
  system = {
    instance_types = ["t3.large"]
    capacity_type  = "ON_DEMAND"
    min_size       = 2
    desired_size   = 2
    max_size       = 3
    disk_size_gib  = 50
    labels         = { "userhub.dev/pool" = "system" }
  }
  apps = {
    instance_types = ["t3.large", "t3a.large"]
    capacity_type  = "SPOT"
    min_size       = 1
    desired_size   = 1
    max_size       = 4
    disk_size_gib  = 50
    labels         = { "userhub.dev/pool" = "apps" }
  }
}

backup_retention = {
  noncurrent_expiration_days = 30
  transition_to_ia_days      = 30
  expiration_days            = 90
  object_lock_retention_days = 0
}
