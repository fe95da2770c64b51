"""INSERT or UPDATE many plain rows at once, for imports of 100,000 items and the nightly refreshes.

``bulk_create`` prepares every value of every row through its field and assembles a statement per
batch (on SQLite, 999 parameters); for the plain rows an import writes by the hundred thousand — link
rows, timeline entries — that preparation costs more than the database does. ``bulk_update`` is worse:
it builds a ``CASE WHEN pk = … THEN …`` expression per row and field, which Django resolves one by one
(about 2 ms per item for the five warning fields). ``insert_rows`` and ``update_rows`` adapt each
*distinct* value once through its field (a timestamp or a JSON document shared by every row is prepared
once) and send the rows with ``executemany``. They fire no signals, set no defaults and touch no
version: every column is given, as for raw SQL. Use ``bulk_create`` when the ids are needed.

On PostgreSQL ``insert_rows`` sends the rows with ``COPY … FROM STDIN`` (psycopg's ``copy``), which the
server takes several times faster than INSERTs: a scoring run writes half a million rows in seconds.
"""

from collections.abc import Iterable, Sequence

from django.db import connections, router


def insert_rows(model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` (one value per name in ``fields``, in that order) into ``model``'s table."""
    connection = connections[router.db_for_write(model)]
    model_fields = [model._meta.get_field(name) for name in fields]
    params = _prepared(model_fields, rows, connection)
    if not params:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in model_fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(model_fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # nosec B608 # names from the model; every value is a parameter
            cursor.executemany(sql, params)
    return len(params)


def update_rows(model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Set ``fields`` on each row of ``model``'s table: ``rows`` hold the values in that order, then the pk."""
    connection = connections[router.db_for_write(model)]
    model_fields = [model._meta.get_field(name) for name in fields]
    params = _prepared([*model_fields, model._meta.pk], rows, connection)
    if not params:
        return 0
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in model_fields)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"  # nosec B608 # names from the model; every value is a parameter
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)


def _prepared(model_fields, rows: Iterable[Sequence], connection) -> list[tuple]:
    """Each row's values adapted for the database, each distinct value of a column once."""
    prepared: list[dict] = [{} for _ in model_fields]

    def adapt(index: int, value):
        # Unhashable values (a dict for a JSON column) are cached by identity: a document shared by
        # every row is one object, prepared once. The cache keeps the object itself too, so that its id
        # cannot be reused by a later row's document while the insert is being prepared.
        key = (type(value), value)  # the type keeps 1, 1.0 and True apart
        try:
            hash(key)
        except TypeError:
            key = (id, id(value))
        cache = prepared[index]
        if key not in cache:
            cache[key] = (value, model_fields[index].get_db_prep_save(value, connection))
        return cache[key][1]

    return [tuple(adapt(index, value) for index, value in enumerate(row)) for row in rows]


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """[3, 4, 5, 9] → [[3, 5], [9, 9]]: bulk-created ids are mostly consecutive, so an audit event naming
    thousands of rows stays short."""
    ranges: list[list[int]] = []
    for pk in sorted(ids):
        if ranges and pk == ranges[-1][1] + 1:
            ranges[-1][1] = pk
        else:
            ranges.append([pk, pk])
    return ranges
