# The environment's public zone. Terraform owns the zone, its delegation and
# the static records; external-dns owns the application records (its TXT
# registry marks them) and cert-manager writes ACME DNS-01 challenges.

resource "aws_route53_zone" "this" {
  #checkov:skip=CKV2_AWS_38:DNSSEC signing needs a KMS key in us-east-1 and a DS record at the registrar; enabled per organisation, documented in docs/infrastructure.md
  #checkov:skip=CKV2_AWS_39:query logging needs a log group in us-east-1; enabled per organisation, documented in docs/infrastructure.md
  name    = var.zone_name
  comment = "Userhub ${var.zone_name}: records written by Terraform, external-dns and cert-manager"
  tags    = var.tags
}

resource "aws_route53_record" "delegation" {
  count = var.parent_zone_id == "" ? 0 : 1

  zone_id = var.parent_zone_id
  name    = var.zone_name
  type    = "NS"
  ttl     = 172800
  records = aws_route53_zone.this.name_servers
}

resource "aws_route53_record" "static" {
  for_each = var.records

  zone_id = aws_route53_zone.this.zone_id
  name    = each.key == "" ? var.zone_name : "${each.key}.${var.zone_name}"
  type    = each.value.type
  ttl     = each.value.ttl
  records = each.value.records
}
