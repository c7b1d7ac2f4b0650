variable "name" {
  type        = string
  description = "Name prefix of every resource (for example userhub-staging)."
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR of the VPC; split into three public /20 and three private /19 subnets."
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) <= 16
    error_message = "cidr_block must be a valid IPv4 CIDR of /16 or larger."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Exactly three availability zones of the region the subnets are spread over."

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "The network spans exactly three availability zones."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all zones (cheaper, not zone-redundant) instead of one per zone."
  default     = false
}

variable "cluster_name" {
  type        = string
  description = "EKS cluster name the subnets are tagged for (load balancer discovery)."
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days VPC flow logs are kept in CloudWatch Logs."
  default     = 365
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key ARN that encrypts the flow log group."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
