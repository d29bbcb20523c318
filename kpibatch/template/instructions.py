"""What the instructions sheet says: how to fill the template, in Thai first and English below, and
the filled example rows shown under the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kpibatch.template.layout import DIRECTION_CHOICES, METHOD_CHOICES

TITLE = "วิธีกรอกแบบฟอร์มตัวชี้วัด / How to fill in this KPI template"

THAI: tuple[str, ...] = (
    "คำแนะนำ (ภาษาไทย)",
    "1. กรอกเฉพาะช่องสีเหลือง ช่องอื่นถูกล็อกไว้ (ไม่มีรหัสผ่าน) อย่าเปลี่ยนชื่อชีต",
    "2. ชีต Division: ใส่ชื่อหน่วยงาน ชื่อย่อ ปีงบประมาณ (พ.ศ. เช่น 2563) และรอบการประเมิน (6, 9 หรือ 12 เดือน)",
    "3. ชีต KPIs: หนึ่งแถวต่อหนึ่งตัวชี้วัด รหัสเช่น 2.1 หรือ 15.1.2 ตัวชี้วัดย่อยใช้รหัสต่อจากตัวชี้วัดหลัก (15.1 อยู่ใต้ 15)",
    "4. น้ำหนัก: ใส่น้ำหนักเดิมตามคำรับรองฯ น้ำหนักของตัวชี้วัดระดับบนต้องรวมเป็น 100 "
    "ช่องตรวจน้ำหนักด้านบนจะเป็นสีแดงจนกว่าจะครบ 100 "
    "น้ำหนักของตัวชี้วัดย่อยเป็นสัดส่วนภายในตัวชี้วัดหลัก รวมเท่ากับน้ำหนักของตัวชี้วัดหลัก หรือ 1 หรือ 100 "
    "(เช่น ข้อ 1 น้ำหนัก 50 แบ่งเป็น 10/5/5/10/15/5 หรือ 0.4/0.3/0.3)",
    "5. วิธีให้คะแนน: เทียบเกณฑ์ = ใส่ค่าเกณฑ์ระดับ 1-5 และผลการดำเนินงาน; "
    "ระดับขั้น = ผลคือระดับที่ทำได้ (0-5); คะแนน = ผลคือคะแนนที่ได้ (0-5)",
    "6. ทิศทาง: มาก = ค่ายิ่งมากยิ่งดี, น้อย = ค่ายิ่งน้อยยิ่งดี (เกณฑ์ต้องเพิ่มขึ้นหรือลดลงทุกระดับ)",
    "7. เกณฑ์และผล: พิมพ์เป็นตัวเลข ใช้จุดเป็นทศนิยม เช่น 87.5 หรือ 87.5% เว้นว่างระดับที่ไม่ได้กำหนด",
    "8. ผลการตรวจประเมิน: คณะกรรมการเป็นผู้กรอก ถ้ามีค่า จะใช้ค่านี้คิดคะแนนแทนผลการดำเนินงาน",
    "9. สถานะ: เว้นว่างถ้าประเมินในรอบนี้ ถ้าไม่ได้ประเมินให้เลือกหรือพิมพ์ข้อความ เช่น รายงานรอบ ๑๒ เดือน",
    "10. ชีต Reallocations: โอนน้ำหนักของตัวชี้วัดที่ไม่ได้ประเมินไปยังตัวชี้วัดที่ประเมิน "
    "ที่อยู่ภายใต้ตัวชี้วัดหลักเดียวกัน เลือกรหัสจากรายการ",
    "11. ไม่บังคับ: ผู้กำกับดูแลตัวชี้วัด ผู้จัดเก็บข้อมูล และเบอร์ติดต่อ (คอลัมน์ถัดจากหมายเหตุ) "
    "และในชีต Division ผู้รายงานข้อมูลและผู้รับรองข้อมูล (ชื่อ ตำแหน่ง วันที่) ซึ่งจะพิมพ์ใต้สรุปผลคะแนน",
    "12. บันทึกเป็นไฟล์ .xlsx แล้วส่งให้หน่วยงานกลาง หน่วยงานกลางตรวจไฟล์ด้วยคำสั่ง kpibatch validate "
    "ซึ่งจะบอกชีตและเซลล์ที่ต้องแก้",
)

ENGLISH: tuple[str, ...] = (
    "Instructions (English)",
    "1. Fill in the yellow cells only; the other cells are locked (no password). Do not rename the sheets.",
    "2. Division sheet: the division's name, short name, fiscal year (Buddhist era, e.g. 2563) "
    "and round (6, 9 or 12 months).",
    "3. KPIs sheet: one row per KPI, codes such as 2.1 or 15.1.2; "
    "a sub-KPI's code extends its parent's (15.1 sits under 15).",
    "4. Weight: the agreed weight. The top-level weights must sum to 100; the check above the table stays "
    "red until they do. Sub-KPI weights are relative inside their parent and add up to the parent's "
    "weight, to 1 or to 100 (e.g. 1 = 50 split 10/5/5/10/15/5, or 0.4/0.3/0.3).",
    "5. Method: threshold = fill levels 1-5 and the result; milestone = the result is the level "
    "reached (0-5); score = the result is the score (0-5).",
    "6. Direction: higher = higher is better, lower = lower is better (levels must all rise or all fall).",
    "7. Levels and results: numbers with a dot as the decimal separator, e.g. 87.5 or 87.5%; "
    "leave a level blank when it is not defined.",
    "8. Verified result: filled by the committee; when present it is scored instead of the result.",
    "9. Status: blank when the KPI is assessed this round; otherwise choose or type a text such as "
    "รายงานรอบ ๑๒ เดือน.",
    "10. Reallocations sheet: move the weight of a KPI not assessed onto an assessed KPI under the same "
    "parent; pick the codes from the list.",
    "11. Optional: each KPI's supervisor, data collector and their phones (the columns after the note), "
    "and on the Division sheet who reported and who certified the figures (name, position, date), "
    "printed under the score summary.",
    "12. Save as .xlsx and send it to the planning unit, which checks it with kpibatch validate; "
    "every problem is reported with its sheet and cell.",
)

EXAMPLE_TITLE = "ตัวอย่างการกรอก / Filled example"
EXAMPLE_KPIS: tuple[Mapping[str, Any], ...] = (
    {
        "code": "1.1",
        "name": "ร้อยละความพึงพอใจของผู้รับบริการ",
        "unit": "ร้อยละ",
        "weight": 10,
        "method": METHOD_CHOICES["threshold"],
        "direction": DIRECTION_CHOICES["higher"],
        "level1": 80,
        "level2": 85,
        "level3": 90,
        "level4": 95,
        "level5": 100,
        "result": 92.5,
    },
    {
        "code": "2.1",
        "name": "ระดับความสำเร็จในการจัดทำแผนต้นทุนต่อหน่วย",
        "unit": "ระดับ",
        "weight": 5,
        "method": METHOD_CHOICES["milestone"],
        "status": "รายงานรอบ ๑๒ เดือน",
        "note": "ไม่ได้ประเมินในรอบนี้ โอนน้ำหนักไปข้อ 2.2",
    },
    {
        "code": "2.2",
        "name": "ร้อยละของข้อมูลที่ไม่สามารถส่งได้ภายในเวลาที่กำหนด",
        "unit": "ร้อยละ",
        "weight": 5,
        "method": METHOD_CHOICES["threshold"],
        "direction": DIRECTION_CHOICES["lower"],
        "level1": 5,
        "level2": 4,
        "level3": 3,
        "level4": 2,
        "level5": 1,
        "result": 1.5,
    },
)
EXAMPLE_REALLOCATIONS: tuple[Mapping[str, Any], ...] = (
    {"from": "2.1", "to": "2.2", "weight": 5, "reason": "ไม่ได้ประเมินในรอบ ๑๒ เดือน"},
)
