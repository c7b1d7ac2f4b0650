variable "zone_name" {
  type        = string
  description = "DNS zone delegated to this environment (for example staging.userhub.example.com)."
}

variable "parent_zone_id" {
  type        = string
  description = "Route 53 zone ID of the parent zone to write the NS delegation into; empty when the parent is managed elsewhere."
  default     = ""
}

variable "records" {
  type = map(object({
    type    = string
    ttl     = number
    records = list(string)
  }))
  description = "Static records Terraform owns, by relative name (\"\" for the apex), for example CAA or TXT verification records. Application records belong to external-dns."
  default     = {}
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
