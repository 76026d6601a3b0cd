"""The embedded stack's DynamoDB answers what the consumer's write path relies on, as DynamoDB
documents it (see the docstrings of localaws._dynamodb_fixes.partiql_batch and number_limits):
one test per documented behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import LocalAWS
from localaws._dynamodb_fixes.number_limits import OVERFLOW, PRECISION, UNDERFLOW, number_error
from tests.stack import unique_name


@pytest.fixture
def table(local_aws: LocalAWS) -> tuple[Any, str]:
    client = local_aws.client("dynamodb")
    name = unique_name("kids")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client, name


def insert(table: str, kid: str, n: int) -> dict[str, Any]:
    return {
        "Statement": f"INSERT INTO \"{table}\" VALUE {{'kid_id': ?, 'n': ?, 'note': ?}}",
        "Parameters": [{"S": kid}, {"N": str(n)}, {"S": f"note {n}"}],
    }


def update(table: str, kid: str, n: int, *, remove_note: bool = False, all_old: bool = True) -> dict[str, Any]:
    remove = ' REMOVE "note"' if remove_note else ""
    statement: dict[str, Any] = {
        "Statement": f'UPDATE "{table}" SET "n" = ?{remove} WHERE "kid_id" = ? AND "n" < ?',
        "Parameters": [{"N": str(n)}, {"S": kid}, {"N": str(n)}],
    }
    if all_old:
        statement["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return statement


def run(client: Any, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    responses: list[dict[str, Any]] = client.batch_execute_statement(Statements=statements)["Responses"]
    assert len(responses) == len(statements)
    return responses


def get(client: Any, table: str, kid: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(TableName=table, Key={"kid_id": {"S": kid}}).get("Item")
    return item


def test_parameters_fill_the_placeholders_in_order(table: tuple[Any, str]) -> None:
    client, name = table
    assert "Error" not in run(client, [insert(name, "k1", 5)])[0]
    assert get(client, name, "k1") == {"kid_id": {"S": "k1"}, "n": {"N": "5"}, "note": {"S": "note 5"}}


def test_each_statement_answers_on_its_own_in_request_order(table: tuple[Any, str]) -> None:
    client, name = table
    run(client, [insert(name, "k2", 1)])
    responses = run(client, [insert(name, "k3", 1), insert(name, "k2", 9), insert(name, "k4", 1)])
    assert ["Error" in r for r in responses] == [False, True, False]
    assert get(client, name, "k3") and get(client, name, "k4")


def test_insert_of_an_existing_key_is_duplicate_item_and_changes_nothing(table: tuple[Any, str]) -> None:
    client, name = table
    run(client, [insert(name, "k5", 1)])
    error = run(client, [insert(name, "k5", 2)])[0]["Error"]
    assert error["Code"] == "DuplicateItem"
    assert get(client, name, "k5")["n"] == {"N": "1"}  # type: ignore[index]


def test_update_sets_and_removes_when_the_where_condition_holds(table: tuple[Any, str]) -> None:
    client, name = table
    run(client, [insert(name, "k6", 1)])
    assert "Error" not in run(client, [update(name, "k6", 2, remove_note=True)])[0]
    assert get(client, name, "k6") == {"kid_id": {"S": "k6"}, "n": {"N": "2"}}


def test_update_whose_condition_fails_returns_the_old_item_with_all_old(table: tuple[Any, str]) -> None:
    client, name = table
    run(client, [insert(name, "k7", 5)])
    with_item, without = run(client, [update(name, "k7", 3), update(name, "k7", 3, all_old=False)])
    assert with_item["Error"]["Code"] == "ConditionalCheckFailed"
    assert with_item["Error"]["Item"]["n"] == {"N": "5"}
    assert without["Error"]["Code"] == "ConditionalCheckFailed" and "Item" not in without["Error"]
    assert get(client, name, "k7")["n"] == {"N": "5"}  # type: ignore[index]


def test_update_of_a_missing_item_fails_its_condition_and_creates_nothing(table: tuple[Any, str]) -> None:
    client, name = table
    error = run(client, [update(name, "k8", 1)])[0]["Error"]
    assert error["Code"] == "ConditionalCheckFailed" and "Item" not in error
    assert get(client, name, "k8") is None


def test_a_statement_on_a_missing_table_is_resource_not_found(table: tuple[Any, str]) -> None:
    client, name = table
    responses = run(client, [insert("no-such-table", "k9", 1), insert(name, "k9", 1)])
    assert responses[0]["Error"]["Code"] == "ResourceNotFound"
    assert "Error" not in responses[1]


def test_a_number_out_of_range_fails_only_its_statement(table: tuple[Any, str]) -> None:
    client, name = table
    bad = insert(name, "k10", 1)
    bad["Parameters"][1] = {"N": "1e-200"}
    responses = run(client, [bad, insert(name, "k11", 1)])
    assert responses[0]["Error"] == {"Code": "ValidationError", "Message": UNDERFLOW}
    assert "Error" not in responses[1]
    assert get(client, name, "k10") is None


def test_more_than_25_statements_is_a_validation_exception(table: tuple[Any, str]) -> None:
    client, name = table
    with pytest.raises(ClientError) as caught:
        client.batch_execute_statement(Statements=[insert(name, f"m{i}", 1) for i in range(26)])
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_wrong_parameter_count_is_a_validation_error(table: tuple[Any, str]) -> None:
    client, name = table
    statement = insert(name, "k12", 1)
    statement["Parameters"] = statement["Parameters"][:2]
    assert run(client, [statement])[0]["Error"]["Code"] == "ValidationError"


def test_an_injected_statement_fault_fails_only_that_statement(clean_faults: LocalAWS, table: tuple[Any, str]) -> None:
    client, name = table
    clean_faults.inject_fault(
        service="dynamodb", operation="BatchExecuteStatement", error_code="ThrottlingError", statements=(1,)
    )
    responses = run(client, [insert(name, "k13", 1), insert(name, "k14", 1), insert(name, "k15", 1)])
    assert [r.get("Error", {}).get("Code") for r in responses] == [None, "ThrottlingError", None]
    assert get(client, name, "k14") is None
    assert "Error" not in run(client, [insert(name, "k14", 1)])[0]  # the fault fired once


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("9.9999999999999999999999999999999999999E+125", None),
        ("1E+126", OVERFLOW),
        ("-1E+126", OVERFLOW),
        ("1E-130", None),
        ("1E-131", UNDERFLOW),
        ("12345678901234567890123456789012345678", None),
        ("123456789012345678901234567890123456789", PRECISION),
        ("1000000000000000000000000000000000000000000", None),  # trailing zeros are trimmed
        ("0", None),
    ],
)
def test_number_range_and_precision(text: str, error: str | None) -> None:
    assert number_error(text) == error


def test_put_item_with_a_number_out_of_range_is_a_validation_exception(table: tuple[Any, str]) -> None:
    client, name = table
    with pytest.raises(ClientError) as caught:
        client.put_item(TableName=name, Item={"kid_id": {"S": "k16"}, "x": {"N": "1e126"}})
    assert caught.value.response["Error"] == {"Code": "ValidationException", "Message": OVERFLOW}


def test_a_statement_fault_is_only_for_batch_execute_statement_and_never_fails_a_whole_call() -> None:
    from localaws._faults import Fault, FaultTable

    with pytest.raises(ValueError, match="BatchExecuteStatement only"):
        Fault(service="dynamodb", operation="PutItem", error_code="ThrottlingError", statements=(0,))
    fault = Fault.from_json(
        {
            "service": "dynamodb",
            "operation": "BatchExecuteStatement",
            "error_code": "ThrottlingError",
            "statements": [2],
        }
    )
    assert fault.statements == (2,)
    table = FaultTable()
    table.add(fault)
    assert table.take("dynamodb", "BatchExecuteStatement") is None  # not a whole-call fault
    assert table.take("dynamodb", "BatchExecuteStatement", statements=True) == fault
    assert table.take("dynamodb", "BatchExecuteStatement", statements=True) is None  # count 1


def test_an_update_keeps_the_attributes_it_does_not_name_and_refuses_a_key_attribute(table: tuple[Any, str]) -> None:
    """UPDATE ... SET/REMOVE changes only the attributes it names (the rest of the item stays), and
    the key cannot be SET (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-reference.update.html)."""
    client, name = table
    client.put_item(
        TableName=name, Item={"kid_id": {"S": "k-keep"}, "n": {"N": "1"}, "b": {"S": "x"}, "note": {"S": "y"}}
    )
    [answer] = run(client, [update(name, "k-keep", 2, remove_note=True)])
    assert "Error" not in answer
    assert get(client, name, "k-keep") == {"kid_id": {"S": "k-keep"}, "n": {"N": "2"}, "b": {"S": "x"}}
    key_update = {
        "Statement": f'UPDATE "{name}" SET "kid_id" = ? WHERE "kid_id" = ?',
        "Parameters": [{"S": "k2"}, {"S": "k-keep"}],
    }
    [refused] = run(client, [key_update])
    assert refused["Error"]["Code"] == "ValidationError"


def test_a_statement_moto_refuses_as_invalid_says_validation_error(local_aws: LocalAWS) -> None:
    """A string key into a table whose key is a number: moto raises ValidationException inside;
    the statement's code is BatchStatementError's ``ValidationError`` (issue 19, item 4)."""
    client = local_aws.client("dynamodb")
    name = unique_name("numeric-kids")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "kid_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "kid_id", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    responses = run(client, [insert(name, "kid-1", 1)])
    assert responses[0]["Error"]["Code"] == "ValidationError"


@pytest.mark.parametrize(
    ("moto_name", "code"),
    [
        ("ValidationException", "ValidationError"),
        ("com.amazonaws.dynamodb.v20120810#ValidationException", "ValidationError"),
        ("ConditionalCheckFailedException", "ConditionalCheckFailed"),
        ("ResourceNotFoundException", "ResourceNotFound"),
        ("ProvisionedThroughputExceededException", "ProvisionedThroughputExceeded"),
        ("ThrottlingException", "ThrottlingError"),
        ("InternalServerError", "InternalServerError"),
    ],
)
def test_statement_codes_are_batch_statement_error_codes(moto_name: str, code: str) -> None:
    from localaws._dynamodb_fixes.partiql_batch import statement_error_code

    assert statement_error_code(moto_name) == code
