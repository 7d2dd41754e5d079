-- English and French (commonsfed.i18n): a resident's chosen language (NULL: their browser's,
-- else the node's), and the language each listing was written in, sent as contentMap's key.
ALTER TABLE accounts ADD COLUMN language text
    CHECK (language ~ '^[a-z]{2,3}$');
ALTER TABLE listings ADD COLUMN language text
    CHECK (language ~ '^[a-z]{2,3}$');
