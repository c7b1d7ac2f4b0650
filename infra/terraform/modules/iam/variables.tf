variable "name" {
  type        = string
  description = "Prefix of the role names."
}

variable "cluster_name" {
  type        = string
  description = "EKS cluster the pod identity associations are created in."
}

variable "backup_bucket_arn" {
  type        = string
  description = "ARN of the database backup bucket (CloudNativePG Barman / pgBackRest)."
}

variable "velero_bucket_arn" {
  type        = string
  description = "ARN of the Velero bucket."
}

variable "bucket_kms_key_arn" {
  type        = string
  description = "KMS key that encrypts both buckets."
}

variable "zone_arn" {
  type        = string
  description = "ARN of the Route 53 zone external-dns and cert-manager may write."
}

variable "secrets_prefix" {
  type        = string
  description = "Secrets Manager name prefix External Secrets may read (for example userhub/staging/)."
}

variable "service_accounts" {
  type = object({
    cnpg_backup      = object({ namespace = string, name = string })
    velero           = object({ namespace = string, name = string })
    external_secrets = object({ namespace = string, name = string })
    external_dns     = object({ namespace = string, name = string })
    cert_manager     = object({ namespace = string, name = string })
  })
  description = "Kubernetes namespace and service account of each operator that receives an AWS role."
  default = {
    cnpg_backup      = { namespace = "userhub", name = "userhub-db" }
    velero           = { namespace = "velero", name = "velero-server" }
    external_secrets = { namespace = "external-secrets", name = "external-secrets" }
    external_dns     = { namespace = "external-dns", name = "external-dns" }
    cert_manager     = { namespace = "cert-manager", name = "cert-manager" }
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
