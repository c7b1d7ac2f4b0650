# What deploy/ (Argo CD, Helm values, operators) needs from this environment.

output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name)."
  value       = module.cluster.name
}

output "cluster_endpoint" {
  description = "Kubernetes API URL the Argo CD cluster secret points at."
  value       = module.cluster.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA bundle of the API server."
  value       = module.cluster.certificate_authority_data
}

output "oidc_provider_arn" {
  description = "IRSA OIDC provider ARN."
  value       = module.cluster.oidc_provider_arn
}

output "bucket_names" {
  description = "db-backups (CloudNativePG barmanObjectStore destinationPath) and velero (BackupStorageLocation bucket)."
  value       = module.storage.bucket_names
}

output "bucket_kms_key_arn" {
  description = "KMS key of the backup buckets."
  value       = module.storage.kms_key_arn
}

output "role_arns" {
  description = "Pod Identity role ARN per operator."
  value       = module.iam.role_arns
}

output "dns_zone_id" {
  description = "Route 53 zone ID for external-dns and the cert-manager DNS-01 solver."
  value       = module.dns.zone_id
}

output "dns_name_servers" {
  description = "Name servers of the environment zone."
  value       = module.dns.name_servers
}

output "region" {
  description = "AWS region of the environment."
  value       = var.region
}
