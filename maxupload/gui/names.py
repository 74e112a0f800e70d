"""Stable ``objectName``s of the main widgets, for scripted UI tests and the screenshot script.

Change a value here and every test and script follows; never spell these strings elsewhere.
"""

from __future__ import annotations

MAIN_WINDOW = "mainWindow"
DEMO_BANNER = "demoBanner"
NOTICE_BANNER = "noticeBanner"

# Target: patient search, notes, note id, provider, banner and confirmation
TARGET_PANEL = "targetPanel"
PATIENT_SEARCH = "patientSearch"
PATIENT_RESULTS = "patientResults"
NOTE_LIST = "noteList"
NOTE_ID_INPUT = "noteIdInput"
NOTE_ID_OPEN = "noteIdOpen"
PROVIDER_COMBO = "providerCombo"
TARGET_MESSAGE = "targetMessage"
PATIENT_BANNER = "patientBanner"
BANNER_NAME = "bannerName"
BANNER_DETAILS = "bannerDetails"
BANNER_LOCKED = "bannerLocked"
BANNER_PROMPT = "bannerPrompt"
CONFIRM_PATIENT = "confirmPatient"

# Photos
DROP_ZONE = "dropZone"
ADD_PHOTOS = "addPhotos"
PASTE_PHOTOS = "pastePhotos"
REMOVE_PHOTOS = "removePhotos"
PHOTO_TABLE = "photoTable"
REJECTIONS_PANEL = "rejectionsPanel"
REJECTIONS_LIST = "rejectionsList"
REJECTIONS_CLEAR = "rejectionsClear"

# Preview
PREVIEW_PANE = "previewPane"
PREVIEW_LOCAL = "previewLocal"
PREVIEW_STORED = "previewStored"
PREVIEW_INFO = "previewInfo"
PRESET_COMBO = "presetCombo"
CUSTOM_EDGE = "customEdge"
CUSTOM_QUALITY = "customQuality"
ESTIMATE_LABEL = "estimateLabel"
OPEN_IN_BROWSER = "openInBrowser"
COPY_LINK = "copyLink"
STORED_STATUS = "storedStatus"

# Status and actions
STATUS_PANEL = "statusPanel"
OVERALL_PROGRESS = "overallProgress"
COUNTS_LABEL = "countsLabel"
RATE_LIMIT_LABEL = "rateLimitLabel"
ERROR_PANEL = "errorPanel"
ERROR_TEXT = "errorText"
ERROR_COPY = "errorCopy"
ERROR_ACTION = "errorAction"
UPLOAD_BUTTON = "uploadButton"
SETTINGS_BUTTON = "settingsButton"
RETRY_BUTTON = "retryButton"
SEND_AGAIN_BUTTON = "sendAgainButton"

# Settings dialog
SETTINGS_DIALOG = "settingsDialog"
SETTINGS_ENVIRONMENT = "settingsEnvironment"
SETTINGS_BASE_URL = "settingsBaseUrl"
SETTINGS_ORG = "settingsOrg"
SETTINGS_KEY = "settingsKey"
SETTINGS_KEY_STATE = "settingsKeyState"
SETTINGS_STORE_HEALTH = "settingsStoreHealth"
SETTINGS_TEST = "settingsTest"
SETTINGS_TEST_RESULT = "settingsTestResult"
SETTINGS_PRESET = "settingsPreset"
SETTINGS_CONCURRENCY = "settingsConcurrency"
SETTINGS_CONFIRM_IDLE = "settingsConfirmIdle"
SETTINGS_SAVE = "settingsSave"
