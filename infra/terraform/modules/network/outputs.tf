output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (nodes and pods), one per zone."
  value       = [for zone in var.availability_zones : aws_subnet.private[zone].id]
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (internet-facing load balancers), one per zone."
  value       = [for zone in var.availability_zones : aws_subnet.public[zone].id]
}

output "nat_public_ips" {
  description = "Egress addresses of the NAT gateways (for allow-lists of third parties)."
  value       = [for nat in aws_nat_gateway.this : nat.public_ip]
}
