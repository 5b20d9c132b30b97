module mapguard.test/copylocks

go 1.27
