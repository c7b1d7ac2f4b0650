terraform {
  required_version = "~> 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Partial configuration: the wrapper (infra/terraform/tf) passes bucket,
  # region and key (one state per environment, one per developer sandbox).
  # use_lockfile = S3-native state locking (Terraform >= 1.10), no DynamoDB.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
