#!/usr/bin/env bash
# Commits the change `cargo xtask promote <env> ...` made to
# deploy/environments/<env>/image.yaml on a branch and opens a pull request
# (GitHub, `gh` with GH_TOKEN) or a merge request (GitLab, push options with
# GITLAB_TOKEN). Usage: open-promotion.sh <env> <sha256:digest>
set -euo pipefail
cd "$(dirname "$0")/../.."

env=$1
digest=$2
file="deploy/environments/${env}/image.yaml"
if git diff --quiet -- "$file"; then
  echo "promotion: ${env} already runs ${digest}; nothing to propose"
  exit 0
fi
branch="promote/${env}-${digest#sha256:}"
branch=${branch:0:40}
title="chore(deploy): ${env} runs ${digest}"
body="Promotes ${env} to the image digest ${digest} (signed by CI). Merging deploys it (${env}: $( [ "$env" = prod ] && echo 'manual sync in Argo CD' || echo 'automatic sync' )). Roll back with git revert of this commit."

git config user.name "userhub-promotion"
git config user.email "promotion@users.noreply.userhub.invalid"
git switch -c "$branch"
git add -- "$file"
git commit -m "$title" -m "$body"

if [[ -n "${GITHUB_ACTIONS:-}" ]]; then
  git push "https://x-access-token:${GH_TOKEN}@github.com/${GITHUB_REPOSITORY}.git" "HEAD:refs/heads/${branch}"
  gh pr create --base main --head "$branch" --title "$title" --body "$body" --label deploy || \
    gh pr create --base main --head "$branch" --title "$title" --body "$body"
elif [[ -n "${GITLAB_CI:-}" ]]; then
  git push "https://oauth2:${GITLAB_TOKEN}@${CI_SERVER_HOST}/${CI_PROJECT_PATH}.git" "HEAD:refs/heads/${branch}" \
    -o merge_request.create -o "merge_request.target=${CI_DEFAULT_BRANCH}" \
    -o "merge_request.title=${title}" -o merge_request.remove_source_branch
else
  echo "promotion: committed on ${branch}; push it and open a pull request" >&2
fi
