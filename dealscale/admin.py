from django.contrib import admin

admin.site.site_header = "DealScale Discord administration"
admin.site.site_title = "DealScale Discord"
admin.site.index_title = "Moderation and operations"
