"""Reading images and PDF pages offline (RapidOCR, PP-OCRv4 models inside the wheel)."""
