output "bucket_names" {
  description = "Bucket names by short name (db-backups, velero, ...)."
  value       = { for name, bucket in aws_s3_bucket.this : name => bucket.id }
}

output "bucket_arns" {
  description = "Bucket ARNs by short name."
  value       = { for name, bucket in aws_s3_bucket.this : name => bucket.arn }
}

output "kms_key_arn" {
  description = "KMS key that encrypts the buckets (writers need kms:GenerateDataKey, readers kms:Decrypt)."
  value       = aws_kms_key.buckets.arn
}

output "access_log_bucket" {
  description = "Bucket receiving the S3 server access logs."
  value       = aws_s3_bucket.access_logs.id
}
