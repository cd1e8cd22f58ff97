-- Who may watch (rules per kind arrive with accounts) and whether a broadcast is kept as a VOD.
ALTER TABLE streams
    ADD COLUMN visibility text NOT NULL DEFAULT 'public'
        CHECK (visibility IN ('public', 'followers', 'subscribers', 'ticketed')),
    ADD COLUMN recording boolean NOT NULL DEFAULT false;
