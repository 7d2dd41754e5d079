-- Two notifications about a listing: `listing_closed`, for everyone still in line when the
-- listing is completed (with someone else) or withdrawn; `new_pledge`, for a group
-- purchase's organiser when a neighbour pledges or changes their pledge (actor_uri names
-- the neighbour). Both are about their listing (listing_id, or the conversation's), so
-- notifications_about_something holds as it is.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'new_answer', 'new_message', 'reserved_for_you', 'offered_to_you',
    'reservation_released', 'declined', 'completed', 'withdrawn', 'near_expiry', 'mention',
    'moderation', 'moderation_warning', 'favourite', 'follow', 'follow_request',
    'listing_closed', 'new_pledge'));
ALTER TABLE notifications ADD CONSTRAINT notifications_pledge_shape
    CHECK (kind <> 'new_pledge' OR (actor_uri IS NOT NULL AND listing_id IS NOT NULL));
