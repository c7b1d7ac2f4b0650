# Prod: one NAT gateway per zone, on-demand nodes over three zones, a year
# of logs, backups kept 35 days under compliance-mode object lock.
environment        = "prod"
kubernetes_version = "1.31"
vpc_cidr           = "10.50.0.0/16"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
single_nat_gateway = false
zone_name          = "userhub.example.com"
log_retention_days = 365

node_groups = {
  system = {
    instance_types = ["m6i.large"]
    capacity_type  = "ON_DEMAND"
    min_size       = 3
    desired_size   = 3
    max_size       = 4
    disk_size_gib  = 80
    labels         = { "userhub.dev/pool" = "system" }
  }
  apps = {
    instance_types = ["m6i.xlarge"]
    capacity_type  = "ON_DEMAND"
    min_size       = 3
    desired_size   = 3
    max_size       = 9
    disk_size_gib  = 80
    labels         = { "userhub.dev/pool" = "apps" }
  }
}

backup_retention = {
  noncurrent_expiration_days = 90
  transition_to_ia_days      = 30
  expiration_days            = 400
  object_lock_retention_days = 35
}
