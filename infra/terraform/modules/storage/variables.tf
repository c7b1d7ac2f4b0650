variable "name" {
  type        = string
  description = "Prefix of the bucket names (bucket names are global: include the account or organisation)."
}

variable "buckets" {
  type = map(object({
    purpose                    = string
    noncurrent_expiration_days = number
    transition_to_ia_days      = number
    expiration_days            = number
    object_lock_retention_days = number
  }))
  description = "Buckets by short name (for example db-backups, velero): purpose, days before noncurrent versions expire, before objects move to STANDARD_IA, before current objects expire (0 = never), and compliance-mode object-lock retention in days (0 = no object lock)."

  validation {
    condition     = alltrue([for bucket in values(var.buckets) : bucket.transition_to_ia_days >= 30])
    error_message = "S3 requires objects to stay 30 days in STANDARD before a transition to STANDARD_IA."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete non-empty buckets (sandboxes only; never in prod)."
  default     = false
}

variable "access_log_retention_days" {
  type        = number
  description = "Days the S3 server access logs are kept."
  default     = 365
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
