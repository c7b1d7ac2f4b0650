output "role_arns" {
  description = "Role ARN per operator (cnpg-backup, velero, external-secrets, external-dns, cert-manager)."
  value       = { for name, role in aws_iam_role.this : name => role.arn }
}
