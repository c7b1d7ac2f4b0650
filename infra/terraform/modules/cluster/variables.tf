variable "name" {
  type        = string
  description = "Name of the EKS cluster and prefix of its resources."
}

variable "kubernetes_version" {
  type        = string
  description = "EKS Kubernetes minor version (for example 1.31)."
}

variable "vpc_id" {
  type        = string
  description = "VPC the cluster runs in."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the control-plane network interfaces and of the nodes."
}

variable "endpoint_public_access" {
  type        = bool
  description = "Expose the Kubernetes API on a public endpoint as well (restricted to public_access_cidrs). False = private endpoint only."
  default     = false
}

variable "public_access_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach the public API endpoint when it is enabled."
  default     = []

  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "The public API endpoint may not be open to the whole internet."
  }
}

variable "node_groups" {
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    desired_size   = number
    max_size       = number
    disk_size_gib  = number
    labels         = map(string)
  }))
  description = "Managed node groups by name: instance types, ON_DEMAND or SPOT, scaling bounds, root volume size, Kubernetes labels."
}

variable "admin_principal_arns" {
  type        = list(string)
  description = "IAM principals (roles of the platform team, the CI deploy role) granted cluster-admin through EKS access entries."
  default     = []
}

variable "log_retention_days" {
  type        = number
  description = "Days the control-plane logs are kept in CloudWatch Logs."
  default     = 365
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource of the module."
  default     = {}
}
