variable "account_id" {
  type        = string
  description = "AWS account this environment lives in; the provider refuses any other account."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id is a 12-digit AWS account ID."
  }
}

variable "region" {
  type        = string
  description = "AWS region (for example eu-west-1)."
}

variable "environment" {
  type        = string
  description = "Environment name as the GitOps side knows it (staging, prod; sandbox for a developer's copy of staging)."

  validation {
    condition     = contains(["staging", "prod", "sandbox"], var.environment)
    error_message = "environment is staging, prod or sandbox."
  }
}

variable "name" {
  type        = string
  description = "Name prefix of the resources; the wrapper sets userhub-<environment> or userhub-sbx-<developer> for sandboxes."
}

variable "bucket_prefix" {
  type        = string
  description = "Globally unique prefix of the S3 bucket names (for example acme-userhub-staging)."
}

variable "kubernetes_version" {
  type        = string
  description = "EKS Kubernetes minor version."
  default     = "1.31"
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 CIDR of the VPC."
}

variable "availability_zones" {
  type        = list(string)
  description = "The three availability zones used."
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway instead of one per zone."
}

variable "endpoint_public_access" {
  type        = bool
  description = "Whether the Kubernetes API also has a public endpoint (restricted to public_access_cidrs)."
  default     = false
}

variable "public_access_cidrs" {
  type        = list(string)
  description = "CIDRs allowed on the public API endpoint."
  default     = []
}

variable "admin_principal_arns" {
  type        = list(string)
  description = "IAM roles granted cluster-admin (platform team, CI deploy role)."
  default     = []
}

variable "node_groups" {
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    desired_size   = number
    max_size       = number
    disk_size_gib  = number
    labels         = map(string)
  }))
  description = "Managed node groups of the cluster."
}

variable "zone_name" {
  type        = string
  description = "DNS zone of the environment."
}

variable "parent_zone_id" {
  type        = string
  description = "Route 53 ID of the parent zone for the NS delegation (empty: delegate by hand)."
  default     = ""
}

variable "backup_retention" {
  type = object({
    noncurrent_expiration_days = number
    transition_to_ia_days      = number
    expiration_days            = number
    object_lock_retention_days = number
  })
  description = "Lifecycle of the backup buckets: noncurrent version expiry, move to STANDARD_IA, expiry of current objects (0 = never), object-lock days (0 = none)."
}

variable "force_destroy" {
  type        = bool
  description = "Let destroy delete non-empty buckets (sandboxes only)."
  default     = false
}

variable "log_retention_days" {
  type        = number
  description = "Days flow logs and control-plane logs are kept."
}
