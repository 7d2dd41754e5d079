-- The queues are pruned by the scheduled jobs: finished deliveries after a week (given-up
-- ones after a month), handled inbox items after two weeks. These indexes keep each run to
-- the rows it deletes, however long the queues have grown.
CREATE INDEX deliveries_finished_idx ON deliveries (finished_at) WHERE state <> 'pending';
CREATE INDEX inbox_items_handled_idx ON inbox_items (handled_at)
    WHERE state IN ('done', 'unhandled');
