-- The inbox's index on its states left out only the handled ('done') rows, so it held the
-- pending ones too: after a day of handled items the statistics make pending rows look rare,
-- and the planner took that index and sorted what it found to claim the oldest item, which
-- is the whole backlog when one builds up. The pending rows have their own index, in the
-- order a claim reads them (inbox_items_due_idx); this one keeps the rows an admin looks at.
DROP INDEX inbox_items_state_idx;
CREATE INDEX inbox_items_kept_idx ON inbox_items (state) WHERE state IN ('unhandled', 'failed');
