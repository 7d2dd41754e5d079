-- The inbox worker claims its items a batch at a time. Asking for a batch, the claim's plan
-- depends on how many pending rows the statistics promise: taken while the queue was empty,
-- they promise a handful, and for a LIMIT above that handful the planner scans the due
-- rows in any order and sorts them, the whole backlog when one builds up. In a function
-- of its own the claim is planned with sorts, sequential scans and bitmap scans turned
-- off: the due index, which gives the order, is then the one plan, whatever the
-- statistics say (tests/integration/test_queue_plans.py checks it over a 50,000-row
-- backlog). Each row gets a claim token of its own, as before.
CREATE FUNCTION claim_inbox_items(claim_lease interval, claim_limit integer)
RETURNS TABLE (id bigint, activity_id text, actor_uri text, activity jsonb, attempts integer,
               received_at timestamptz, claim bigint)
LANGUAGE sql
SET enable_sort = off
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
    UPDATE inbox_items AS item
    SET locked_until = now() + claim_lease, next_try_at = now() + claim_lease,
        attempts = item.attempts + 1, claim = nextval('queue_claims')
    FROM (
        SELECT pending.id FROM inbox_items AS pending
        WHERE pending.state = 'pending' AND pending.next_try_at <= now()
          AND (pending.locked_until IS NULL OR pending.locked_until <= now())
        ORDER BY pending.next_try_at, pending.id
        LIMIT claim_limit
        FOR UPDATE SKIP LOCKED
    ) AS due
    WHERE item.id = due.id
    RETURNING item.id, item.activity_id, item.actor_uri, item.activity, item.attempts,
              item.received_at, item.claim
$$;
