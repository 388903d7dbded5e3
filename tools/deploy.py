"""Deploy a stage to the AWS account of the current credentials, or tear it down.

    python -m tools.deploy deploy  [--stage prod] [--alarm-email ADDRESS]
    python -m tools.deploy outputs [--stage prod]
    python -m tools.deploy destroy [--stage prod] [--delete-data --yes]
    python -m tools.deploy chalice [--stage dev]      # the `chalice deploy` path, see README

Credentials and region come from boto3's standard chain (environment, profile, SSO...);
nothing is written into the repository. The stage lives in one CloudFormation stack,
`<app>-<stage>`: that stack is the deploy state, so any machine or CI with credentials
deploys, inspects or destroys the same stage.

`deploy` packages the app (`tools.cfn`, the template `make test` translates, lints and
scans), uploads the code and the template to an artifacts bucket made once per account and
region (`<app>-artifacts-<account>-<region>`), and applies a change set (CloudFormation
expands the SAM transform, as `aws cloudformation deploy` has it do). The code's key is the
hash of its contents and the template names nothing that changes between runs, so a
second run finds nothing to change and says so. It prints the API URL, the user pool id
and the app client id the game client needs.

`destroy` deletes the stack. Tables, the saves bucket and the user pool are retained by
their DeletionPolicy, so player data survives unless `--delete-data --yes` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import WaiterError

from tools import cfn, iam
from tools.stage_config import PROJECT_DIR, app_name, stage_block, stage_environment

Report = Callable[[str], None]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "The submitted information didn't contain")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _code(exc: Exception) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


class Target:
    """Where a deploy goes: the session's account and region, the stage's names."""

    def __init__(self, session: Any, stage: str, *, project_dir: Path = PROJECT_DIR) -> None:
        self.session = session
        self.stage = stage
        self.project_dir = project_dir
        self.region = session.region_name
        if not self.region:
            raise SystemExit(
                "No AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region in your AWS profile "
                "(aws configure set region eu-west-1)."
            )
        stage_block(stage, project_dir)  # a clear error for an unknown stage
        self.app = app_name(project_dir)
        self.account = self.client("sts").get_caller_identity()["Account"]
        self.stack_name = f"{self.app}-{stage}"
        self.data_stack_name = f"{self.app}-{stage}-data"
        self.artifacts_bucket = f"{self.app}-artifacts-{self.account}-{self.region}"

    def client(self, service: str) -> Any:
        return self.session.client(service)


# -- the artifacts bucket -------------------------------------------------------------


def ensure_artifacts_bucket(s3: Any, name: str, region: str, *, report: Report = _say) -> None:
    """Private, encrypted, HTTPS-only; old artifacts expire (rollbacks need recent ones)."""
    try:
        s3.head_bucket(Bucket=name)
        return
    except Exception as exc:
        if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**params)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-old-artifacts",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": 180},
                }
            ]
        },
    )
    if not s3.meta.endpoint_url.startswith("https://"):
        # A local stand-in spoken to over plain HTTP: the policy would lock us out.
        report(f"created the artifacts bucket {name} (no HTTPS-only policy: plain-HTTP endpoint)")
        return
    s3.put_bucket_policy(
        Bucket=name,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyPlainHttp",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
    report(f"created the artifacts bucket {name}")


def content_hash(zip_path: Path) -> str:
    """The hash of a zip's entries (names and bytes), not of the zip: timestamps do not count."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(zip_path) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            digest.update(info.filename.encode() + b"\0")
            digest.update(hashlib.sha256(archive.read(info)).digest())
    return digest.hexdigest()


def upload_once(s3: Any, bucket: str, key: str, path: Path, *, report: Report = _say) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except Exception as exc:
        if _code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.upload_file(str(path), bucket, key)
    report(f"uploaded s3://{bucket}/{key}")
    return True


def template_url(s3: Any, bucket: str, key: str, region: str) -> str:
    """Where CloudFormation reads a template: its regional S3 URL (moto reads the same form)."""
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


# -- the stack ------------------------------------------------------------------------


def describe_stack(cloudformation: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except Exception as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return stacks[0] if stacks else None  # type: ignore[no-any-return]


def stack_outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _wait(cloudformation: Any, waiter: str, **kwargs: Any) -> None:
    cloudformation.get_waiter(waiter).wait(**kwargs, WaiterConfig={"Delay": 5, "MaxAttempts": 720})


def apply_template(
    cloudformation: Any,
    *,
    stack_name: str,
    template_url: str,
    template_body: str,
    parameters: dict[str, str | None],
    tags: dict[str, str],
    report: Report = _say,
) -> bool:
    """Create or update the stack through a change set; False when nothing changes."""
    stack = describe_stack(cloudformation, stack_name)
    if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        raise SystemExit(
            f"stack {stack_name} failed its first creation (ROLLBACK_COMPLETE): read its events, delete it "
            "(make destroy) and deploy again"
        )
    exists = stack is not None and stack["StackStatus"] != "REVIEW_IN_PROGRESS"
    params = []
    for key, value in parameters.items():
        if value is None and exists:
            params.append({"ParameterKey": key, "UsePreviousValue": True})
        elif value is not None:
            params.append({"ParameterKey": key, "ParameterValue": value})
    if exists:
        current = cloudformation.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
        if isinstance(current, str):
            current = json.loads(current)
        same_params = all(p.get("UsePreviousValue") for p in params)
        if current == json.loads(template_body) and same_params and stack["StackStatus"].endswith("_COMPLETE"):
            return False
    name = f"deploy-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    cloudformation.create_change_set(
        StackName=stack_name,
        ChangeSetName=name,
        ChangeSetType="UPDATE" if exists else "CREATE",
        TemplateURL=template_url,
        Parameters=params,
        Capabilities=CAPABILITIES,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    try:
        _wait(cloudformation, "change_set_create_complete", StackName=stack_name, ChangeSetName=name)
    except WaiterError:
        described = cloudformation.describe_change_set(StackName=stack_name, ChangeSetName=name)
        reason = described.get("StatusReason", "")
        if any(text in reason for text in NO_CHANGES):
            cloudformation.delete_change_set(StackName=stack_name, ChangeSetName=name)
            return False
        raise SystemExit(f"change set {name} failed: {reason}") from None
    changes = cloudformation.describe_change_set(StackName=stack_name, ChangeSetName=name).get("Changes", [])
    report(f"applying {len(changes)} change(s) to stack {stack_name}")
    cloudformation.execute_change_set(StackName=stack_name, ChangeSetName=name)
    _wait(cloudformation, "stack_update_complete" if exists else "stack_create_complete", StackName=stack_name)
    return True


def deploy(
    target: Target,
    *,
    alarm_email: str | None = None,
    build_dir: Path | None = None,
    package_dir: Path | None = None,
    report: Report = _say,
) -> dict[str, str]:
    cloudformation = target.client("cloudformation")
    if describe_stack(cloudformation, target.data_stack_name) is not None:
        raise SystemExit(
            f"stage {target.stage} is deployed with `chalice deploy` (stack {target.data_stack_name}); "
            "one stage, one way: pick another stage name"
        )
    if package_dir is not None:
        out = package_dir  # what `make package` built (and CI checked): deployed as is
    else:
        out = build_dir or target.project_dir / "build" / target.stage
        if out.exists():
            shutil.rmtree(out)
        cfn.package(target.stage, out, project_dir=target.project_dir)
    s3 = target.client("s3")
    ensure_artifacts_bucket(s3, target.artifacts_bucket, target.region, report=report)
    code_key = f"{target.app}/{target.stage}/code-{content_hash(out / 'deployment.zip')}.zip"
    upload_once(s3, target.artifacts_bucket, code_key, out / "deployment.zip", report=report)
    sam = json.loads((out / "sam.json").read_text(encoding="utf-8"))
    template = cfn.with_code_location(sam, target.artifacts_bucket, code_key)
    body = json.dumps(template, indent=2, sort_keys=True) + "\n"
    (out / "template.json").write_text(body, encoding="utf-8")
    template_key = f"{target.app}/{target.stage}/template-{hashlib.sha256(body.encode()).hexdigest()}.json"
    upload_once(s3, target.artifacts_bucket, template_key, out / "template.json", report=report)
    changed = apply_template(
        cloudformation,
        stack_name=target.stack_name,
        template_url=template_url(s3, target.artifacts_bucket, template_key, target.region),
        template_body=body,
        parameters={cfn.ALARM_EMAIL_PARAM: alarm_email},
        tags={"game-backend:stage": target.stage, "game-backend:app": target.app},
        report=report,
    )
    report(f"stack {target.stack_name}: " + ("deployed" if changed else "no changes"))
    stack = describe_stack(cloudformation, target.stack_name)
    assert stack is not None
    if target.stage == "prod" and not stack.get("EnableTerminationProtection"):
        # A stray `aws cloudformation delete-stack` cannot take prod down; make destroy lifts it.
        cloudformation.update_termination_protection(EnableTerminationProtection=True, StackName=target.stack_name)
    return stack_outputs(stack)


# -- destroy --------------------------------------------------------------------------

DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Cognito::UserPool")


def destroy(target: Target, *, delete_data: bool = False, report: Report = _say) -> list[tuple[str, str]]:
    """Delete the stage's stack(s); return the retained (type, name) pairs, deleted if asked."""
    cloudformation = target.client("cloudformation")
    kept: list[tuple[str, str]] = []
    for name in (target.stack_name, target.data_stack_name):
        stack = describe_stack(cloudformation, name)
        if stack is None:
            continue
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] in DATA_TYPES and resource.get("PhysicalResourceId"):
                    kept.append((resource["ResourceType"], resource["PhysicalResourceId"]))
        if stack.get("EnableTerminationProtection"):
            cloudformation.update_termination_protection(EnableTerminationProtection=False, StackName=name)
        cloudformation.delete_stack(StackName=name)
        _wait(cloudformation, "stack_delete_complete", StackName=name)
        report(f"deleted stack {name}")
    if not delete_data:
        for kind, name in kept:
            report(f"kept {kind} {name} (player data; --delete-data --yes removes it)")
        return kept
    for kind, name in kept:
        if kind == "AWS::DynamoDB::Table":
            dynamodb = target.client("dynamodb")
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
            dynamodb.delete_table(TableName=name)
        elif kind == "AWS::S3::Bucket":
            _delete_bucket(target.client("s3"), name)
        else:
            cognito = target.client("cognito-idp")
            pool = cognito.describe_user_pool(UserPoolId=name)["UserPool"]
            cognito.update_user_pool(
                UserPoolId=name,
                DeletionProtection="INACTIVE",
                AdminCreateUserConfig=pool.get("AdminCreateUserConfig", {}),
            )
            cognito.delete_user_pool(UserPoolId=name)
        report(f"deleted {kind} {name}")
    return kept


def _delete_bucket(s3: Any, name: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=name)


# -- the chalice deploy path ----------------------------------------------------------

# What the data stack leaves out: the functions' role, logs and API settings belong to
# the full stack; `chalice deploy` makes its own role and log groups.
FUNCTION_SIDE = (cfn.FUNCTION_ROLE, cfn.FUNCTION_LOGS, cfn.API_ACCESS_LOGS, cfn.API_LOGS_ROLE, cfn.API_ACCOUNT)


def data_template(stage: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The definitions' resources alone (plain CloudFormation): what `chalice deploy` stages use."""
    prefix, admin_group = cfn.stage_settings(stage, project_dir)
    template = cfn.build_template(stage_prefix=prefix, admin_group=admin_group)
    template.pop("Globals")
    for key in FUNCTION_SIDE:
        template["Resources"].pop(key)
    template["Outputs"].pop("DashboardName")
    template["AWSTemplateFormatVersion"] = "2010-09-09"
    template["Description"] = f"Game backend data ({prefix}): the definition's resources for a chalice-deployed stage."
    return template


def chalice_environment(outputs: dict[str, str], prefix: str) -> dict[str, str]:
    """The variables the app reads, from the data stack's outputs."""
    env = {"TABLE_PREFIX": prefix}
    for table in cfn.DATA.tables:
        logical_id = cfn.table_logical_id(table)
        env[f"TABLE_{table.key.upper()}"] = outputs[f"{logical_id}Name"]
        if table.stream:
            env[f"STREAM_ARN_{table.key.upper()}"] = outputs[f"{logical_id}StreamArn"]
    for bucket in cfn.DATA.buckets:
        env[f"BUCKET_{bucket.key.upper()}"] = outputs[f"{cfn.bucket_logical_id(bucket)}Name"]
    env["USER_POOL_ID"] = outputs["UserPoolId"]
    env["USER_POOL_ARN"] = outputs["UserPoolArn"]
    env["USER_POOL_CLIENT_ID"] = outputs["UserPoolClientId"]
    return env


def chalice_project(
    stage: str, env: dict[str, str], policy: dict[str, Any], out: Path, project_dir: Path = PROJECT_DIR
) -> Path:
    """A copy of the app whose stage config holds what the data stack made (never the repo's)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(project_dir / "app.py", out / "app.py")
    shutil.copy(project_dir / "requirements.txt", out / "requirements.txt")
    shutil.copytree(project_dir / "chalicelib", out / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    config = json.loads((project_dir / ".chalice" / "config.json").read_text(encoding="utf-8"))
    block = dict(config["stages"][stage])
    for key in ("manage_iam_role", "iam_role_arn"):
        block.pop(key, None)
    block["autogen_policy"] = False
    block["iam_policy_file"] = f"policy-{stage}.json"
    block["environment_variables"] = {**block.get("environment_variables", {}), **env}
    config["stages"] = {stage: block}
    (out / ".chalice").mkdir()
    (out / ".chalice" / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / ".chalice" / f"policy-{stage}.json").write_text(iam.render(policy), encoding="utf-8")
    return out


def chalice_deploy(target: Target, *, report: Report = _say, project_out: Path | None = None) -> dict[str, str]:
    """Data from the definition through CloudFormation; functions and API by `chalice deploy`.

    Chalice's deploy state (`.chalice/deployed/<stage>.json`) is kept in the artifacts
    bucket, so a second machine or CI updates the same API instead of making another.
    """
    cloudformation = target.client("cloudformation")
    if describe_stack(cloudformation, target.stack_name) is not None:
        raise SystemExit(
            f"stage {target.stage} is deployed by `make deploy` (stack {target.stack_name}); pick another stage"
        )
    s3 = target.client("s3")
    ensure_artifacts_bucket(s3, target.artifacts_bucket, target.region, report=report)
    body = json.dumps(data_template(target.stage, target.project_dir), indent=2, sort_keys=True) + "\n"
    out = project_out or target.project_dir / "build" / f"chalice-{target.stage}"
    out.parent.mkdir(parents=True, exist_ok=True)
    template_path = out.parent / f"data-{target.stage}.json"
    template_path.write_text(body, encoding="utf-8")
    template_key = f"{target.app}/{target.stage}/data-{hashlib.sha256(body.encode()).hexdigest()}.json"
    upload_once(s3, target.artifacts_bucket, template_key, template_path, report=report)
    apply_template(
        cloudformation,
        stack_name=target.data_stack_name,
        template_url=template_url(s3, target.artifacts_bucket, template_key, target.region),
        template_body=body,
        parameters={},
        tags={"game-backend:stage": target.stage, "game-backend:app": target.app},
        report=report,
    )
    stack = describe_stack(cloudformation, target.data_stack_name)
    assert stack is not None
    outputs = stack_outputs(stack)
    prefix, _ = cfn.stage_settings(target.stage, target.project_dir)
    env = chalice_environment(outputs, prefix)
    names = iam.concrete_names(
        target.stage,
        account_id=target.account,
        region=target.region,
        user_pool_arn=env["USER_POOL_ARN"],
        app=target.app,
    )
    project = chalice_project(target.stage, env, iam.build_policy(names), out, target.project_dir)
    state_key = f"{target.app}/{target.stage}/chalice-deployed.json"
    state = project / ".chalice" / "deployed" / f"{target.stage}.json"
    state.parent.mkdir(parents=True)
    try:
        s3.download_file(target.artifacts_bucket, state_key, str(state))
        report(f"resuming chalice's deploy state from s3://{target.artifacts_bucket}/{state_key}")
    except Exception as exc:
        if _code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise
    chalice = Path(sys.executable).with_name("chalice")
    result = subprocess.run(
        [str(chalice if chalice.exists() else "chalice"), "deploy", "--stage", target.stage],
        cwd=project,
        env={**os.environ, "AWS_DEFAULT_REGION": target.region},
        check=False,
    )
    # Kept even after a failure: what Chalice did create is in it, and the next run reuses it.
    if state.exists():
        s3.upload_file(str(state), target.artifacts_bucket, state_key)
    if result.returncode != 0:
        raise SystemExit(f"chalice deploy failed (exit {result.returncode}); its state is kept for the next run")
    deployed = json.loads(state.read_text(encoding="utf-8"))
    api_url = next(
        (r.get("rest_api_url", "") for r in deployed.get("resources", []) if r.get("resource_type") == "rest_api"), ""
    )
    return {"ApiUrl": api_url, "UserPoolId": outputs["UserPoolId"], "UserPoolClientId": outputs["UserPoolClientId"]}


# -- the command ----------------------------------------------------------------------


def print_outputs(outputs: dict[str, str], region: str) -> None:
    print(f"API URL:        {outputs.get('ApiUrl', '')}")
    print(f"User pool id:   {outputs.get('UserPoolId', '')}")
    print(f"App client id:  {outputs.get('UserPoolClientId', '')}")
    print(f"Region:         {region}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["deploy", "outputs", "destroy", "chalice"])
    parser.add_argument("--stage", default=os.environ.get("STAGE") or "prod")
    parser.add_argument("--alarm-email", default=os.environ.get("ALARM_EMAIL") or None)
    parser.add_argument("--package-dir", type=Path, help="deploy: a `make package` output instead of packaging again")
    parser.add_argument("--delete-data", action="store_true", help="destroy: also delete tables, bucket and pool")
    parser.add_argument("--yes", action="store_true", help="destroy --delete-data: confirm")
    args = parser.parse_args(argv)
    import boto3

    stage_environment(args.stage)  # an unknown stage fails before any AWS call
    target = Target(boto3.session.Session(), args.stage)
    _say(f"account {target.account}, region {target.region}, stage {args.stage}")
    if args.command == "deploy":
        print_outputs(deploy(target, alarm_email=args.alarm_email, package_dir=args.package_dir), target.region)
    elif args.command == "chalice":
        print_outputs(chalice_deploy(target), target.region)
    elif args.command == "outputs":
        stack = describe_stack(target.client("cloudformation"), target.stack_name)
        if stack is None:
            raise SystemExit(f"no stack {target.stack_name} in {target.region}: run make deploy STAGE={args.stage}")
        print_outputs(stack_outputs(stack), target.region)
    else:
        if args.delete_data and not args.yes:
            parser.error("--delete-data deletes every player's data for good: add --yes to confirm")
        destroy(target, delete_data=args.delete_data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
