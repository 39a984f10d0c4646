#!/usr/bin/python3
"""An independent S3 client (boto3) for the Object Lock test: it makes buckets and tries to
destroy object versions directly through the RADOS Gateway, past mlvault.

  s3_probe.py mkbucket BUCKET [--object-lock]
  s3_probe.py delete-versions BUCKET PREFIX   tries to delete every version under PREFIX; prints
                                              one line per version: "<key> denied|deleted <code>"
  s3_probe.py retention-under BUCKET PREFIX   one line per object: "<key> <mode> <retain-until,
                                              unix seconds>" (mode and time "none 0" if none);
                                              index/, locks/ and state/ are left out
Reads S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION (the rgw fixture's s3.env).
"""
import os
import sys

import boto3
from botocore.exceptions import ClientError


def client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
    )


def main(argv):
    s3 = client()
    if argv[0] == "mkbucket":
        s3.create_bucket(Bucket=argv[1], ObjectLockEnabledForBucket="--object-lock" in argv)
        return 0
    if argv[0] == "delete-versions":
        bucket, prefix = argv[1], argv[2]
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        n = 0
        for page in pages:
            for v in page.get("Versions", []):
                n += 1
                try:
                    s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
                    print(v["Key"], "deleted", "-")
                except ClientError as e:
                    print(v["Key"], "denied", e.response["Error"]["Code"])
        if n == 0:
            print("no versions under", prefix, file=sys.stderr)
            return 1
        return 0
    if argv[0] == "retention-under":
        bucket, prefix = argv[1], argv[2]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                name = o["Key"][len(prefix):]
                if name.startswith(("index/", "locks/", "state/")):
                    continue
                try:
                    r = s3.get_object_retention(Bucket=bucket, Key=o["Key"])["Retention"]
                    print(o["Key"], r["Mode"], int(r["RetainUntilDate"].timestamp()))
                except ClientError as e:
                    if e.response["Error"]["Code"] not in ("NoSuchObjectLockConfiguration",
                                                           "ObjectLockConfigurationNotFoundError"):
                        raise
                    print(o["Key"], "none", 0)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
