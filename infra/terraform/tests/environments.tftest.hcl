# `terraform test -var-file=envs/<environment>.tfvars` (hosted CI, once per
# environment): plans the root module with that environment's variable file
# against a mocked AWS provider (no credentials, nothing is created), so each
# environment's values meet the variables' types and validations and the
# modules' logic, not just the syntax `terraform validate` checks.

mock_provider "aws" {
  # The provider still validates the JSON of policies and the form of ARNs.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
}

# What the wrapper passes from .env.
variables {
  account_id    = "123456789012"
  region        = "eu-west-1"
  name          = "userhub-test"
  bucket_prefix = "acme-userhub-test"
}

run "plan" {
  command = plan

  assert {
    condition     = length(module.network.private_subnet_ids) == 3 && length(module.network.public_subnet_ids) == 3
    error_message = "The VPC must have a public and a private subnet in each of three zones."
  }

  assert {
    condition     = length(module.network.nat_public_ips) == (var.single_nat_gateway ? 1 : 3)
    error_message = "One NAT gateway with single_nat_gateway, else one per zone."
  }

  assert {
    condition     = join(",", sort(keys(module.storage.bucket_names))) == "db-backups,velero"
    error_message = "The environment must have the db-backups and velero buckets."
  }

  assert {
    condition     = length(keys(module.iam.role_arns)) == 5
    error_message = "One role per operator: CNPG backups, Velero, External Secrets, external-dns, cert-manager."
  }
}
