"""Published evaluation protocols read from their own files (EmoBox's folds), apart from any corpus's audio."""
