-- Every kind of notification the node makes, in one list: the time bank (0040, 0045), the
-- loan calendar (0041), matches and saved searches (0042) and pledges across nodes (0043)
-- each added theirs to the list as it stood before them. New here: `thanks`, the other
-- party of a completed exchange thanked the resident (here, or from a sibling node); about
-- the conversation, which names them and the listing.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request',
    'listing_closed', 'new_pledge',
    'hours_recorded', 'hours_disputed', 'hours_settled', 'hours_across',
    'loan_asked', 'loan_confirmed', 'loan_declined', 'loan_pickup_soon', 'loan_return_soon',
    'loan_overdue', 'pledge_reached', 'pledge_released',
    'listing_match', 'saved_search_match', 'thanks'));
