package storage

// ConversationState is one account's state of a direct conversation,
// keyed by the thread's root status.
type ConversationState struct {
	Read   ID   `json:"read,omitempty"` // last status ID read
	Hidden bool `json:"hidden,omitempty"`
}

// Conversation returns an account's state of the conversation rooted at
// root; none stored is the zero state.
func (tx *Tx) Conversation(account, root ID) (ConversationState, error) {
	b, err := tx.bucket(bucketConversations)
	if err != nil {
		return ConversationState{}, err
	}
	var c ConversationState
	if err := getJSON(b, pairKey(account, root), &c); err != nil && !isNotFound(err) {
		return ConversationState{}, err
	}
	return c, nil
}

// PutConversation stores an account's state of a conversation.
func (tx *Tx) PutConversation(account, root ID, c ConversationState) error {
	b, err := tx.bucket(bucketConversations)
	if err != nil {
		return err
	}
	return putJSON(b, pairKey(account, root), c)
}

// MuteThread and UnmuteThread silence notifications from a thread.
func (tx *Tx) MuteThread(account, root ID) error { return tx.putPair(bucketStatusMutes, account, root) }

// UnmuteThread lifts a thread mute; a missing one is fine.
func (tx *Tx) UnmuteThread(account, root ID) error {
	return tx.deletePair(bucketStatusMutes, account, root)
}

// ThreadMuted reports whether account muted the thread rooted at root.
func (tx *Tx) ThreadMuted(account, root ID) (bool, error) {
	return tx.hasPair(bucketStatusMutes, account, root)
}

// ThreadRoot returns the oldest stored ancestor of a status (itself when
// it replies to nothing stored), following at most 100 links.
func (tx *Tx) ThreadRoot(s *Status) ID {
	root := s.ID
	parent := s.InReplyToID
	for range 100 {
		if parent == 0 {
			break
		}
		p, err := tx.Status(parent)
		if err != nil {
			break
		}
		root, parent = p.ID, p.InReplyToID
	}
	return root
}
