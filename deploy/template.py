"""The CloudFormation template of a nicelist deployment, generated from the code's own definitions.

Stream, kid table, the autoscaler's lock table, archive bucket (with its TLS-only policy), the
three IAM roles with the shipped policies (:mod:`deploy.iam`), the alarms and their SNS topic
(:mod:`admin.alarms`) and the Athena (Glue) tables of the archive (:mod:`analytics`, same columns
and partition projection as ``nicelist athena-ddl``). Settings that ``nicelist provision`` applies
come from :mod:`admin.provision`; a test creates the template on the embedded stack and then runs
``provision`` against it, which must find nothing to create, so the two stay in step.
"""

from __future__ import annotations

import json
from typing import Any

import schemas
from admin.alarms import AlarmSpec, alarm_specs, topic_name
from admin.autoscale import LOCK_KEY, lock_table_name
from admin.provision import KID_TABLE_HASH_KEY, PUBLIC_ACCESS_BLOCK
from analytics.athena import AthenaNames, hive_type
from foundation.settings import PipelineNames

from .iam import ROLES, policy_for

#: who may assume each role: the account (elf apps and operators get it through their own
#: identities) or the compute the workers run on
_TRUSTED = {
    "producer": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
    "worker": {"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]},
    "admin": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
}


def _logical(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("_", "-").replace(".", "-").split("-") if part)


def _stream(names: PipelineNames) -> dict[str, Any]:
    return {
        "Type": "AWS::Kinesis::Stream",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Name": names.stream,
            "ShardCount": {"Ref": "ShardCount"},
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
            "RetentionPeriodHours": 24,
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
        },
    }


def _table(names: PipelineNames) -> dict[str, Any]:
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "TableName": names.table,
            "KeySchema": [{"AttributeName": KID_TABLE_HASH_KEY, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": KID_TABLE_HASH_KEY, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
            # write units/s the table serves at once: `nicelist reshard plan`'s figure for the peak
            "WarmThroughput": {
                "Fn::If": [
                    "HasWarmWriteUnits",
                    {"WriteUnitsPerSecond": {"Ref": "WarmWriteUnits"}},
                    {"Ref": "AWS::NoValue"},
                ]
            },
        },
    }


def _lock_table(names: PipelineNames) -> dict[str, Any]:
    """The autoscaler's lock table, as ``nicelist provision`` creates it (nothing to retain)."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": lock_table_name(names.application),
            "KeySchema": [{"AttributeName": LOCK_KEY, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": LOCK_KEY, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    }


def _bucket(names: PipelineNames) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": names.bucket,
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": dict(PUBLIC_ACCESS_BLOCK),
            "VersioningConfiguration": {"Status": "Enabled"},
        },
    }


def _bucket_policy(names: PipelineNames) -> dict[str, Any]:
    arn = f"arn:aws:s3:::{names.bucket}"
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "ArchiveBucket"},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyPlainHttp",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }


def _role(role: str, names: PipelineNames) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": f"{names.application}-{role}",
            "Description": f"nicelist {role} (deploy/iam_policies/{role}.json)",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": _TRUSTED[role], "Action": "sts:AssumeRole"}],
            },
            "Policies": [{"PolicyName": f"nicelist-{role}", "PolicyDocument": policy_for(role, names)}],
        },
    }


def _alarm(spec: AlarmSpec) -> dict[str, Any]:
    args = spec.put_metric_alarm_args(None)
    properties = {key: value for key, value in args.items() if key not in ("AlarmActions", "OKActions")}
    properties["AlarmActions"] = [{"Ref": "AlarmTopic"}]
    properties["OKActions"] = [{"Ref": "AlarmTopic"}]
    properties["ActionsEnabled"] = True
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def _glue_table(athena: AthenaNames, table: str, schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    location = f"s3://{athena.bucket}/{prefix}/"
    literal = json.dumps(schema, separators=(",", ":"))
    return {
        "Type": "AWS::Glue::Table",
        "DependsOn": "GlueDatabase",
        "Properties": {
            "CatalogId": {"Ref": "AWS::AccountId"},
            "DatabaseName": athena.database,
            "TableInput": {
                "Name": table,
                "TableType": "EXTERNAL_TABLE",
                "PartitionKeys": [{"Name": "dt", "Type": "string"}, {"Name": "hour", "Type": "string"}],
                "Parameters": {
                    "classification": "avro",
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": f"{athena.first_day},NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    "projection.hour.type": "integer",
                    "projection.hour.range": "0,23",
                    "projection.hour.digits": "2",
                    "storage.location.template": location + "dt=${dt}/hour=${hour}/",
                },
                "StorageDescriptor": {
                    "Columns": [{"Name": f["name"], "Type": hive_type(f["type"])} for f in schema["fields"]],
                    "Location": location,
                    "InputFormat": "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
                    "OutputFormat": "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
                    "SerdeInfo": {
                        "SerializationLibrary": "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
                        "Parameters": {"avro.schema.literal": literal},
                    },
                },
            },
        },
    }


def _strip_docs(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_docs(v) for k, v in schema.items() if k not in ("doc", "logicalType")}
    if isinstance(schema, list):
        return [_strip_docs(v) for v in schema]
    return schema


def template(
    names: PipelineNames | None = None, *, shards: int = 4, glue_database: str = "nicelist", warm_write_units: int = 0
) -> dict[str, Any]:
    """The template as a dict (``json.dumps`` it); resource names are ``names``."""
    names = names or PipelineNames()
    athena = AthenaNames(bucket=names.bucket, database=glue_database)
    resources: dict[str, Any] = {
        "Stream": _stream(names),
        "KidTable": _table(names),
        "AutoscaleLockTable": _lock_table(names),
        "ArchiveBucket": _bucket(names),
        "ArchiveBucketPolicy": _bucket_policy(names),
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic_name(names)}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
        },
        "GlueDatabase": {
            "Type": "AWS::Glue::Database",
            "Properties": {"CatalogId": {"Ref": "AWS::AccountId"}, "DatabaseInput": {"Name": athena.database}},
        },
        "GlueEventsTable": _glue_table(
            athena, athena.events_table, _strip_docs(schemas.latest(schemas.ARCHIVED_EVENT).schema), "events"
        ),
        "GlueDeadLettersTable": _glue_table(
            athena, athena.dead_letter_table, _strip_docs(schemas.latest(schemas.DEAD_LETTER).schema), "dead-letter"
        ),
    }
    for role in ROLES:
        resources[f"{role.capitalize()}Role"] = _role(role, names)
    for spec in alarm_specs(names):
        resources[f"Alarm{_logical(spec.name.removeprefix(names.application + '-'))}"] = _alarm(spec)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"nicelist: stream {names.stream}, table {names.table}, bucket {names.bucket}, "
        f"roles, alarms and Athena tables (generated by `nicelist template`)",
        "Parameters": {
            "ShardCount": {"Type": "Number", "Default": shards, "MinValue": 1, "Description": "shards of the stream"},
            "AlarmEmail": {"Type": "String", "Default": "", "Description": "address the alarms notify (optional)"},
            "WarmWriteUnits": {
                "Type": "Number",
                "Default": warm_write_units,
                "MinValue": 0,
                "Description": "the kid table's warm write throughput, units/s (nicelist reshard plan; 0: default)",
            },
        },
        "Conditions": {
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
            "HasWarmWriteUnits": {"Fn::Not": [{"Fn::Equals": [{"Ref": "WarmWriteUnits"}, 0]}]},
        },
        "Resources": resources,
        "Outputs": {
            "StreamArn": {"Value": {"Fn::GetAtt": ["Stream", "Arn"]}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
            **{f"{r.capitalize()}RoleArn": {"Value": {"Fn::GetAtt": [f"{r.capitalize()}Role", "Arn"]}} for r in ROLES},
        },
    }
