# Least-privilege roles for the operators that talk to AWS, bound to their
# Kubernetes service accounts with EKS Pod Identity (the agent add-on runs on
# every node; see the cluster module).

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  secrets_arn_prefix = "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:secret:${var.secrets_prefix}"
}

data "aws_iam_policy_document" "pod_identity_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "cnpg_backup" {
  statement {
    sid       = "ListBackupBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.backup_bucket_arn]
  }
  statement {
    sid       = "ReadWriteBackups"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.backup_bucket_arn}/*"]
  }
  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.bucket_kms_key_arn]
  }
}

data "aws_iam_policy_document" "velero" {
  statement {
    sid       = "ListVeleroBucket"
    actions   = ["s3:ListBucket"]
    resources = [var.velero_bucket_arn]
  }
  statement {
    sid       = "ReadWriteVeleroObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${var.velero_bucket_arn}/*"]
  }
  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.bucket_kms_key_arn]
  }
  statement {
    sid       = "DescribeVolumesAndSnapshots"
    actions   = ["ec2:DescribeVolumes", "ec2:DescribeSnapshots"]
    resources = ["*"]
  }
  statement {
    sid       = "SnapshotClusterVolumes"
    actions   = ["ec2:CreateSnapshot", "ec2:CreateTags", "ec2:CreateVolume", "ec2:DeleteSnapshot"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/kubernetes.io/cluster/${var.cluster_name}"
      values   = ["owned"]
    }
  }
}

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid       = "ReadEnvironmentSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"]
    resources = ["${local.secrets_arn_prefix}*"]
  }
}

data "aws_iam_policy_document" "external_dns" {
  statement {
    sid       = "WriteEnvironmentZone"
    actions   = ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources"]
    resources = [var.zone_arn]
  }
  statement {
    sid       = "FindZones"
    actions   = ["route53:ListHostedZones"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "cert_manager" {
  statement {
    sid       = "FollowChanges"
    actions   = ["route53:GetChange"]
    resources = ["arn:${data.aws_partition.current.partition}:route53:::change/*"]
  }
  statement {
    sid       = "WriteChallengeRecords"
    actions   = ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"]
    resources = [var.zone_arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "route53:ChangeResourceRecordSetsRecordTypes"
      values   = ["TXT"]
    }
  }
  statement {
    sid       = "FindZones"
    actions   = ["route53:ListHostedZonesByName"]
    resources = ["*"]
  }
}

locals {
  roles = {
    cnpg-backup      = { policy = data.aws_iam_policy_document.cnpg_backup.json, sa = var.service_accounts.cnpg_backup }
    velero           = { policy = data.aws_iam_policy_document.velero.json, sa = var.service_accounts.velero }
    external-secrets = { policy = data.aws_iam_policy_document.external_secrets.json, sa = var.service_accounts.external_secrets }
    external-dns     = { policy = data.aws_iam_policy_document.external_dns.json, sa = var.service_accounts.external_dns }
    cert-manager     = { policy = data.aws_iam_policy_document.cert_manager.json, sa = var.service_accounts.cert_manager }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.roles

  name                 = "${var.name}-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.pod_identity_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.roles

  name   = each.key
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy
}

resource "aws_eks_pod_identity_association" "this" {
  for_each = local.roles

  cluster_name    = var.cluster_name
  namespace       = each.value.sa.namespace
  service_account = each.value.sa.name
  role_arn        = aws_iam_role.this[each.key].arn
  tags            = var.tags
}
