-- A resident's later Offers to a listing of another node, in the conversation their first
-- answer began (services.answers.answer_remote): days asked again of a lend offer (after a
-- loan, or after days that clashed), or a pledge towards another need of a project. The
-- first Offer stays the conversation's `ap_id`; the listing's node answers each Offer by
-- its id, and federation.answers takes an Accept or Reject of any of them.
CREATE TABLE conversation_offers (
    offer_id text PRIMARY KEY CHECK (offer_id ~ '^https?://'),
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_offers_conversation_idx ON conversation_offers (conversation_id);
