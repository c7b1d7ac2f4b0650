# The one composition of the AWS environments. Every environment (staging,
# prod, and each developer's sandbox) is this root module with its own
# variable file (envs/<environment>.tfvars: only what differs) and its own
# state key (passed by the wrapper, ./tf). Run it through ./tf, which picks
# both and a data directory per environment, so no command can pair one
# environment's variables with another's state.

locals {
  cluster_name = var.name
  tags = {
    Project     = "userhub"
    Environment = var.environment
    ManagedBy   = "terraform"
  }
}

# Encrypts the flow logs (CloudWatch Logs needs the service in the key policy).
resource "aws_kms_key" "logs" {
  description             = "${var.name}: CloudWatch log groups"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.logs_key.json
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "logs_key" {
  #checkov:skip=CKV_AWS_109:key policy; "*" is this key, and the account-root statement is the AWS default that delegates access to IAM
  #checkov:skip=CKV_AWS_111:key policy; "*" is this key, and the account-root statement is the AWS default that delegates access to IAM
  #checkov:skip=CKV_AWS_356:key policy; "*" is this key, and the account-root statement is the AWS default that delegates access to IAM
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogsUse"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:aws:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }
}

module "network" {
  source = "./modules/network"

  name                    = var.name
  cidr_block              = var.vpc_cidr
  availability_zones      = var.availability_zones
  single_nat_gateway      = var.single_nat_gateway
  cluster_name            = local.cluster_name
  kms_key_arn             = aws_kms_key.logs.arn
  flow_log_retention_days = var.log_retention_days
  tags                    = local.tags
}

module "cluster" {
  source = "./modules/cluster"

  name                   = local.cluster_name
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = module.network.vpc_id
  subnet_ids             = module.network.private_subnet_ids
  endpoint_public_access = var.endpoint_public_access
  public_access_cidrs    = var.public_access_cidrs
  admin_principal_arns   = var.admin_principal_arns
  node_groups            = var.node_groups
  log_retention_days     = var.log_retention_days
  tags                   = local.tags
}

module "storage" {
  source = "./modules/storage"

  name          = var.bucket_prefix
  force_destroy = var.force_destroy
  buckets = {
    db-backups = merge(var.backup_retention, { purpose = "PostgreSQL base backups and WAL (CloudNativePG)" })
    velero     = merge(var.backup_retention, { purpose = "Velero cluster backups" })
  }
  tags = local.tags
}

module "dns" {
  source = "./modules/dns"

  zone_name      = var.zone_name
  parent_zone_id = var.parent_zone_id
  records = {
    "" = { type = "CAA", ttl = 3600, records = ["0 issue \"letsencrypt.org\""] }
  }
  tags = local.tags
}

module "iam" {
  source = "./modules/iam"

  name               = var.name
  cluster_name       = module.cluster.name
  backup_bucket_arn  = module.storage.bucket_arns["db-backups"]
  velero_bucket_arn  = module.storage.bucket_arns["velero"]
  bucket_kms_key_arn = module.storage.kms_key_arn
  zone_arn           = module.dns.zone_arn
  secrets_prefix     = "userhub/${var.environment}/"
  tags               = local.tags
}
