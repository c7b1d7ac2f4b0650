output "zone_id" {
  description = "Route 53 zone ID (external-dns --zone-id-filter, cert-manager solver hostedZoneID)."
  value       = aws_route53_zone.this.zone_id
}

output "zone_arn" {
  description = "ARN of the zone (for IAM policies)."
  value       = aws_route53_zone.this.arn
}

output "name_servers" {
  description = "Name servers to delegate the zone to when the parent is not in this account."
  value       = aws_route53_zone.this.name_servers
}
